"""The app layer: the user's files, paths and accounts from distill.yaml.

The configuration is turned into a :class:`~distill.assembly.host_files.FilesRecipe`
(plain data a warm rebuild can keep), and the tree is made from the recipe.
"""

from __future__ import annotations

from distill.assembly.accounts import AccountPlan, add_account_files
from distill.assembly.host_files import FilesRecipe, HostCopy
from distill.config import Config, PathEntry
from distill.errors import ConfigError
from distill.rootfs.tree import FileTree, RecordingTree


def app_tree(config: Config) -> FileTree:
    """The files and paths the configuration adds, in a tree of their own."""
    return files_recipe(config, None).tree()


def files_recipe(config: Config, accounts: AccountPlan | None) -> FilesRecipe:
    """The files layer's recipe: ``files:``, then ``paths:``, then (when given) accounts."""
    generated = RecordingTree()
    for entry in config.paths:
        _add_path(generated, entry)
    if accounts is not None:
        add_account_files(generated, accounts)
    copies = tuple(HostCopy(src=c.src, dst=c.dst, mode=c.mode_bits, uid=c.uid, gid=c.gid)
                   for c in config.files)
    return FilesRecipe(copies=copies, entries=tuple(generated.added))


def _add_path(tree: FileTree, entry: PathEntry) -> None:
    where = f"paths: {entry.path}"
    if not entry.path.startswith("/"):
        raise ConfigError(f"{where}: must be an absolute path in the image")
    if entry.type == "directory":
        tree.add_dir(entry.path, mode=entry.mode_bits or 0o755, uid=entry.uid, gid=entry.gid)
    elif entry.type == "file":
        data = (entry.content or "").encode()
        tree.add_file(entry.path, data, mode=entry.mode_bits or 0o644, uid=entry.uid,
                      gid=entry.gid)
    else:
        if not entry.target:
            raise ConfigError(f"{where}: a symlink needs a target")
        tree.add_symlink(entry.path, entry.target, uid=entry.uid, gid=entry.gid)
