"""
Loading a model archive never runs code from it and never writes outside its temporary folder.

AllenNLP 2.10 trusts a `model.tar.gz` completely: `load_archive` extracts it with `extractall`
(a member named `../x` or `/x`, or a link, lands outside the temporary folder), builds every
`"type"` of its `config.json` (a dotted path such as `"subprocess.Popen"` is imported and
called), and reads its weights with a plain `torch.load`. Archives are shared, so these are the
paths an attacker takes. Importing the plugin (`install_archive_safety`) makes every command that
loads an archive through AllenNLP (`predict`, `evaluate`, our `rationales`, `Predictor.from_path`,
`load_archive` itself, and the `pretrained` initializer) safe:

- **Extraction.** Every member must stay inside the extraction folder: no absolute name, no
  `..` that leaves it, no link that points outside it, no device file or FIFO. Otherwise the
  archive is refused (`UnsafeArchiveError`, naming the archive and the member) before anything
  is extracted. The extraction itself uses Python's `data` filter as well.
- **Types.** Every `"type"` in the archive's config must be a name registered with AllenNLP
  (by AllenNLP, by this plugin, or by a package you import with `--include-package` or
  `.allennlp_plugins`). A dotted path that is not registered would be imported and called:
  it is refused unless you trust the archive, by setting `HARDKUMA_TRUST_REMOTE_CODE=1` (as
  transformers' `trust_remote_code`). Your own training configs are not affected.
- **Weights.** Model weights are read with `torch.load(..., weights_only=True)`, explicitly, so a
  pickle in `weights.th` cannot run code whatever torch's default is.
"""

import functools
import os
import pickle
import tarfile
from contextlib import contextmanager
from typing import Any, Iterator, List

import torch
from allennlp.common.checks import ConfigurationError
from allennlp.common.registrable import Registrable

TRUST_VARIABLE = "HARDKUMA_TRUST_REMOTE_CODE"


class UnsafeArchiveError(ConfigurationError):
    """A model archive that would write outside its folder or run code that is not registered."""


def trusts_remote_code() -> bool:
    return os.environ.get(TRUST_VARIABLE, "").strip().lower() in ("1", "true", "yes")


def _inside(folder: str, path: str) -> bool:
    folder = os.path.realpath(folder)
    return os.path.commonpath([folder, os.path.realpath(path)]) == folder


def check_members(archive_path: str, archive: tarfile.TarFile, folder: str) -> None:
    """Raises `UnsafeArchiveError` for the first member that would leave `folder`."""
    for member in archive.getmembers():
        name = member.name
        where = f"the model archive {archive_path} has a member {name!r}"
        if os.path.isabs(name) or name.startswith(("/", "\\")):
            raise UnsafeArchiveError(f"{where} with an absolute path: refused")
        target = os.path.join(folder, name)
        if not _inside(folder, target):
            raise UnsafeArchiveError(f"{where} outside the extraction folder: refused")
        if member.issym() or member.islnk():
            link = member.linkname
            base = os.path.dirname(target) if member.issym() else folder
            if os.path.isabs(link) or not _inside(folder, os.path.join(base, link)):
                raise UnsafeArchiveError(
                    f"{where} that links outside the archive ({link!r}): refused"
                )
        elif not (member.isfile() or member.isdir()):
            raise UnsafeArchiveError(f"{where} that is a device file or FIFO: refused")


def _tar_error(archive_path: str, error: BaseException) -> ConfigurationError:
    hint = "give the model.tar.gz (or the serialization directory) that `allennlp train` wrote"
    if archive_path.endswith(".th"):
        hint += "; a weights file such as best.th holds no config"
    return ConfigurationError(
        f"{archive_path} is not a model archive ({type(error).__name__}: {error}): {hint}"
    )


@contextmanager
def safe_extracted_archive(resolved_archive_file: str, cleanup: bool = True) -> Iterator[str]:
    """AllenNLP's `extracted_archive`, refusing members that would leave the temporary folder."""
    import shutil
    import tempfile

    tempdir = tempfile.mkdtemp()
    try:
        try:
            with tarfile.open(resolved_archive_file, "r:gz") as archive:
                check_members(str(resolved_archive_file), archive, tempdir)
                archive.extractall(tempdir, filter="data")
        except (tarfile.TarError, EOFError, OSError) as error:
            if isinstance(error, tarfile.FilterError):
                raise UnsafeArchiveError(
                    f"the model archive {resolved_archive_file} has an unsafe member: {error}"
                ) from None
            raise _tar_error(str(resolved_archive_file), error) from None
        yield tempdir
    except BaseException:
        shutil.rmtree(tempdir, ignore_errors=True)
        raise
    if cleanup:
        shutil.rmtree(tempdir, ignore_errors=True)


def registered_names() -> set:
    return {name for registry in Registrable._registry.values() for name in registry}


def unregistered_types(config: Any, path: str = "") -> List[str]:
    """The `"type"` values of a config (a dict tree) that are dotted paths no registry knows,
    as `path: value`."""
    found: List[str] = []
    names = registered_names()
    stack = [(config, path)]
    while stack:
        value, where = stack.pop()
        if isinstance(value, dict):
            kind = value.get("type")
            if isinstance(kind, str) and "." in kind and kind not in names:
                found.append(f"{where or 'config'}.type: {kind!r}")
            for key, item in value.items():
                stack.append((item, f"{where}.{key}" if where else str(key)))
        elif isinstance(value, list):
            stack.extend((item, f"{where}[{index}]") for index, item in enumerate(value))
    return sorted(found)


def check_config_types(config: Any, source: str) -> None:
    """Refuses an archive config whose `"type"`s would import unregistered code."""
    if trusts_remote_code():
        return
    found = unregistered_types(config.as_dict(quiet=True) if hasattr(config, "as_dict") else config)
    if found:
        raise UnsafeArchiveError(
            f"the model archive {source} names classes that are not registered with AllenNLP, "
            f"which loading it would import and call: {'; '.join(found)}. If you trust this "
            f"archive, set {TRUST_VARIABLE}=1; if the classes come from a package of yours, "
            "import it with --include-package."
        )


def load_weights(path: str, cuda_device: int = -1) -> Any:
    """`torch.load` of a weights or checkpoint file with `weights_only=True`: tensors and plain
    containers only. A file that holds anything else is refused with its name."""
    from allennlp.nn.util import device_mapping

    try:
        return torch.load(path, map_location=device_mapping(cuda_device), weights_only=True)
    except pickle.UnpicklingError as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise UnsafeArchiveError(
            f"the weights file {path} holds more than tensors, which could run code when read: "
            f"refused ({first})"
        ) from None
    except (EOFError, RuntimeError) as error:
        raise ConfigurationError(
            f"the weights file {path} cannot be read ({type(error).__name__}: {error})"
        ) from None


def install_archive_safety() -> None:
    """Applies the rules above to AllenNLP's archive loading. Idempotent."""
    from allennlp.models import archival, model
    from allennlp.nn import initializers

    if getattr(archival, "_hardkuma_safe", False):
        return
    archival.extracted_archive = safe_extracted_archive
    initializers.extracted_archive = safe_extracted_archive
    original_readers = archival._load_dataset_readers

    def _load_dataset_readers(config, serialization_dir):
        check_config_types(config, serialization_dir)
        return original_readers(config, serialization_dir)

    archival._load_dataset_readers = _load_dataset_readers
    original_read = model.util.read_state_dict

    @functools.wraps(original_read)
    def read_state_dict(path, strip_prefix=None, ignore=None, strict=True, cuda_device=-1):
        state = load_weights(path, cuda_device)
        if strip_prefix is None and not ignore:
            return state
        # AllenNLP's prefix and pattern handling, on a file now known to hold tensors only.
        return original_read(path, strip_prefix, ignore, strict, cuda_device)

    model.util.read_state_dict = read_state_dict
    archival._hardkuma_safe = True
