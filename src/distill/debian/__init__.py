"""Debian repositories: sources, signed indexes, resolution, lock files and .deb files."""
