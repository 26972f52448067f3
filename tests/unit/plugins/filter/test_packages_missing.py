from ansible_collections.mptcp.linux.plugins.filter.packages_missing import packages_missing

# What dpkg-query --show --showformat='${Package} ${db:Status-Abbrev}\n'
# prints: installed (ii), removed with its configuration kept (rc), and
# half-installed (iH); an unknown name only gets a line on stderr.
OUTPUT = "nginx ii \npython3-pyroute2 rc \nmptcpd iH \n"


def test_only_installed_packages_are_left_out_in_the_order_asked():
    names = ["python3-pyroute2", "nginx", "mptcpd", "unknown"]
    assert packages_missing(OUTPUT, names) == ["python3-pyroute2", "mptcpd", "unknown"]


def test_everything_is_missing_without_output():
    assert packages_missing("", ["nginx", "iproute2"]) == ["nginx", "iproute2"]
    assert packages_missing(None, ["nginx"]) == ["nginx"]


def test_versions_architectures_and_patterns_go_to_the_package_manager():
    names = ["nginx=1.26.3-3", "nginx:amd64", "nginx*", "nginx"]
    assert packages_missing(OUTPUT, names) == ["nginx=1.26.3-3", "nginx:amd64", "nginx*"]


def test_nothing_asked_nothing_missing():
    assert packages_missing(OUTPUT, []) == []


def test_a_name_dpkg_cannot_print_is_never_taken_as_installed():
    # dpkg prints package names without blanks: a requested name with a
    # blank, a newline or a quote matches no line and goes to the package
    # manager, which refuses it there.
    names = ["nginx ii", "nginx\nii", 'nginx"', "nginx#x", "nginx\\"]
    assert packages_missing(OUTPUT, names) == names
