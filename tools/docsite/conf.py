# Sphinx configuration of the collection's docsite, built by tools/docs.
# From `antsibull-docs sphinx-init --use-current mptcp.linux` (antsibull-docs
# 2.28.0), built offline: intersphinx reads the inventories of the Ansible
# and Python docs from files next to this one (tools/docs writes them),
# never from the network, and every warning is an error (tools/docs: -W).

project = 'mptcp.linux'
copyright = 'mptcp.linux contributors'

title = 'mptcp.linux: Multipath TCP for Linux hosts'
html_short_title = 'mptcp.linux'

extensions = ['sphinx.ext.intersphinx', 'sphinx_antsibull_ext']

pygments_style = 'ansible'

highlight_language = 'YAML+Jinja'

html_theme = 'sphinx_ansible_theme'
html_show_sphinx = False

display_version = False

html_use_smartypants = True
html_use_modindex = False
html_use_index = False
html_copy_source = False

intersphinx_mapping = {
    'ansible_devel': ('https://docs.ansible.com/projects/ansible/devel/', '../ansible_devel.inv'),
}

default_role = 'any'

nitpicky = True
