"""Load the project's top-level group_vars/ for every inventory."""

from __future__ import annotations

DOCUMENTATION = """
    name: project_group_vars
    short_description: Load the project's top-level group_vars/ for every inventory
    description:
        - Ansible reads group_vars/ only next to an inventory source or a playbook. This
          project keeps its shared defaults in the top-level group_vars/ (next to
          ansible.cfg), so this plugin loads them for every inventory that is a path.
        - It runs at the inventory stage only, so the values sit at the precedence of
          inventory group_vars; list it before host_group_vars in vars_plugins_enabled and
          the inventory's own group_vars/ (for example inventory/production/group_vars/)
          override the project's.
        - Host lists given on the command line (C(-i host1,host2,)) load no group_vars at
          all, as in Ansible itself.
    options:
      stage:
        default: inventory
        ini:
          - key: stage
            section: vars_project_group_vars
        env:
          - name: ANSIBLE_VARS_PROJECT_GROUP_VARS_STAGE
    extends_documentation_fragment:
      - vars_plugin_staging
"""

from pathlib import Path

from ansible.inventory.group import InventoryObjectType
from ansible.plugins.vars.host_group_vars import VarsModule as HostGroupVars

# plugins/vars/project_group_vars.py -> the project root holding group_vars/
PROJECT_ROOT = str(Path(__file__).resolve().parents[2])


class VarsModule(HostGroupVars):
    """host_group_vars, rooted at the project instead of the inventory source."""

    REQUIRES_ENABLED = True
    is_stateless = True

    def get_vars(self, loader, path, entities, cache=True):
        if not isinstance(entities, list):
            entities = [entities]
        groups = [e for e in entities if getattr(e, "base_type", None) is InventoryObjectType.GROUP]
        if not groups:
            return {}
        return super().get_vars(loader, PROJECT_ROOT, groups, cache=cache)
