"""The image's file tree: packages, generated system files and the user's files."""
