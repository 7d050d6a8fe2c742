"""The OCI image model: digests, media types, descriptors, configs, images and indexes.

This package never touches the network or the cache; transports and layers
build on it.
"""
