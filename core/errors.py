"""The error hierarchy. Every message says what to do next; callers chain with ``from e``."""


class DocduetError(Exception):
    """Base of every error docduet raises on purpose."""


class ConfigError(DocduetError):
    """Settings are missing or invalid."""


class BackendUnavailableError(DocduetError):
    """A service (Weaviate, a model server) cannot be reached or started."""


class IngestError(DocduetError):
    """A document could not be parsed, chunked or written."""


class RetrievalError(DocduetError):
    """Search failed or the index is not ready."""


class GenerationError(DocduetError):
    """A generator failed to produce an answer."""
