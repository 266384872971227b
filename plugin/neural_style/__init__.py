"""Neural Style Transfer for Krita: Tools ▸ Scripts ▸ Neural Style Transfer…

Importing the package inside Krita registers the extension. Outside a running Krita with plugins
(``kritarunner``, tests), the submodules (``api``, ``job``, ``layer_io`` …) work on their own.
"""

try:
    from krita import Krita
except ImportError:  # pragma: no cover - imported outside Krita (unit tests, tooling)
    Krita = None

if Krita is not None and Krita.instance() is not None:
    from .extension import NeuralStyleExtension

    Krita.instance().addExtension(NeuralStyleExtension(Krita.instance()))
