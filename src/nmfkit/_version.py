"""The version of nmfkit (one place, read by the package and the model files)."""
__version__ = "0.1.0"
