"""nst_engine: neural style transfer with VGG19 and TensorFlow, as a library and a command line.

Importing the package is cheap: TensorFlow is only imported when a run starts optimising.
"""

__version__ = "0.1.0"
