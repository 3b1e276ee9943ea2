"""The record in the standards sponsors load: CDISC ODM 1.3.2, SDTM datasets, Define-XML 2.1."""


class ExportError(RuntimeError):
    """The stored record cannot be exported as it stands (a broken stream: run ``trial
    verify``), or not in the format asked for."""


def decode(code: str) -> str:
    """A code as words: HOSPITALISATION reads Hospitalisation, NOT_RELATED reads Not related."""
    return code.replace("_", " ").capitalize()
