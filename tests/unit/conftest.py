"""Make the collection importable as ansible_collections.vacc.qwen3 (collections/ links to the repo
root) the way ansible-core does it, so plugin loaders resolve vacc.qwen3.* names too."""

import os

from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_AnsibleCollectionFinder(paths=[os.path.join(ROOT, "collections")], scan_sys_paths=True)._install()
