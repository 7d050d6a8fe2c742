"""distill: minimal, reproducible distroless container images from signed Debian packages."""

__version__ = "0.1.0"
