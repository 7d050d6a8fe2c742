"""From a configuration to images: packages, layers, image configs."""
