"""Git write-back: a persistent bare clone, commits without a checkout, push with retry.

GitRepo(url, branch, cache_dir, auth=GitAuth(...), timeout_s=30, shallow=False)
    .fetch() -> Snapshot
    .write(render, author=, committer=, sign=, push_branch=, force=) -> WriteResult
    .remote_branches(prefix) -> {branch: commit}
    .delete_branch(branch) -> bool
render_message(changes, template=None, skip_ci=False) -> str
state_dir_problem(path, create=False) -> str | None: why a state_dir cannot hold clones
SshSigner, SshKeygenSigner, GpgSigner: Signer
"""

from automator.git.clone import STATE_DIR_HINT, state_dir_problem
from automator.git.message import DEFAULT_TEMPLATE, check_template, render_message
from automator.git.objects import build_tree
from automator.git.repo import GitRepo
from automator.git.signing import GpgSigner, Signer, SshKeygenSigner, SshSigner
from automator.git.snapshot import Identity, NewCommit, Snapshot, WriteResult
from automator.git.transport import GitAuth

__all__ = [
    "DEFAULT_TEMPLATE",
    "STATE_DIR_HINT",
    "GitAuth",
    "GitRepo",
    "GpgSigner",
    "Identity",
    "NewCommit",
    "Signer",
    "Snapshot",
    "SshKeygenSigner",
    "SshSigner",
    "WriteResult",
    "build_tree",
    "check_template",
    "render_message",
    "state_dir_problem",
]
