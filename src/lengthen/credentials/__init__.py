"""C2PA Content Credentials for the media lengthen writes (``pip install 'lengthen[credentials]'``).

``identity.py`` finds who signs: the user's certificate and key (``--c2pa-cert/--c2pa-key``,
``LENGTHEN_C2PA_CERT``/``LENGTHEN_C2PA_KEY``, or ``c2pa.json`` in lengthen's config folder), or
else a local test identity made once per machine in lengthen's cache folder, which no reader
trusts (the manifest validates but its signer is reported as untrusted). ``manifest.py`` builds
and embeds the manifest (C2PA embeds in QuickTime ``.mov``: a ``uuid`` box the BMFF hash
excludes). ``read.py`` reads and validates any file's credentials (``lengthen verify``).
Everything imports ``c2pa`` (c2pa-python, the C2PA reference library's binding) lazily.
"""

from .identity import SignerConfig, c2pa_module, resolve_signer
from .manifest import TRAINED_ALGORITHMIC_MEDIA, sign_generated, sign_spliced
from .read import read_credentials

__all__ = [
    "TRAINED_ALGORITHMIC_MEDIA",
    "SignerConfig",
    "c2pa_module",
    "read_credentials",
    "resolve_signer",
    "sign_generated",
    "sign_spliced",
]
