"""QEMU guests for the Molecule scenarios of mptcp.linux (Python 3 stdlib).

Commands (run with the .venv's or the system's python3):

  create   --scenario S --platforms JSON   build/reuse the images, boot one VM
           per platform, wait until root can log in over SSH, print the
           instance config (JSON list) that Molecule's delegated driver reads
  destroy  --scenario S                    stop the scenario's VMs, drop overlays
  link     --scenario S LINK up|down [--instance I]   carrier of a link (QMP
           set_link on the NIC of each VM on it, or of instance I only)
  ssh      --scenario S INSTANCE [COMMAND...]   log in to a running guest
  reboot   --scenario S INSTANCE           reboot a guest from inside (systemctl
           reboot) and wait until root logs in again with a new boot id
  kill-strays [--scenario S]               stop every QEMU this tool started
           (of scenario S only)

A platform is {"name": ..., "suite": "bookworm|trixie|forky",
"links": [link names], "memory": MiB, "cpus": N}. NIC eth0 of a guest is the
management NIC (QEMU user networking, SSH forwarded from 127.0.0.1:<port>);
eth1, eth2, ... are its links in the order listed. Two platforms listing the
same link name are joined point to point by a pair of unix datagram sockets
(`-netdev dgram`), so VMs can start in any order and no host port is used.

Runtime files live in $MPTCP_CACHE/run/<scenario>/ (default
~/.cache/mptcp-linux): qcow2 overlays on the cached images, pidfiles, QMP and
link sockets, and each guest's serial console log (<instance>.serial.log),
which destroy keeps for troubleshooting.
"""

import argparse
import fcntl
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

CACHE = os.path.expanduser(os.environ.get('MPTCP_CACHE', '~/.cache/mptcp-linux'))
RUN = os.path.join(CACHE, 'run')
HERE = os.path.dirname(os.path.abspath(__file__))
QEMU = 'qemu-system-x86_64'
# Every QEMU started here is named mptcp-vm/<scenario>/<instance>: that is
# how kill-strays recognises them (and only them) among the host's processes.
NAME_PREFIX = 'mptcp-vm/'
NAME_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]{0,30}$')
SUITES = ('bookworm', 'trixie', 'forky')
SSH_TIMEOUT = int(os.environ.get('MPTCP_VM_SSH_TIMEOUT', '600'))
# Guests resume from a snapshot of a booted guest of the same image and
# shape instead of booting (MPTCP_VM_SNAPSHOTS=0: always boot).
SNAPSHOTS = os.environ.get('MPTCP_VM_SNAPSHOTS', '1') != '0'
# The MACs every snapshot is saved with (create() renames the guest).
SNAPSHOT_HOSTNAME = 'mptcp-saved'


class VMError(Exception):
    """A failure with a message for the person running the scenario."""


def log(msg):
    print('vm: ' + msg, file=sys.stderr, flush=True)


def scenario_dir(scenario):
    if not NAME_RE.match(scenario):
        raise VMError('scenario name %r: letters, digits, _ . - only' % scenario)
    return os.path.join(RUN, scenario)


def check_platforms(platforms):
    """Validate the platforms; return {link: [instance, ...]}."""
    if not isinstance(platforms, list) or not platforms:
        raise VMError('platforms: a non-empty list is required')
    members = {}
    seen = set()
    for index, platform in enumerate(platforms):
        where = 'platforms[%d]' % index
        if not isinstance(platform, dict):
            raise VMError('%s: a mapping is required' % where)
        name = platform.get('name')
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise VMError('%s.name %r: 1-31 letters, digits, _ . - required' % (where, name))
        if name in seen:
            raise VMError('%s.name %r: used twice' % (where, name))
        seen.add(name)
        if platform.get('suite') not in SUITES:
            raise VMError('%s.suite %r: one of %s required' % (where, platform.get('suite'), ', '.join(SUITES)))
        links = platform.get('links', [])
        if not isinstance(links, list) or len(set(links)) != len(links):
            raise VMError('%s.links: a list of distinct link names is required' % where)
        for link in links:
            if not isinstance(link, str) or not NAME_RE.match(link):
                raise VMError('%s.links: %r: 1-31 letters, digits, _ . - required' % (where, link))
            members.setdefault(link, []).append(name)
        for key in ('memory', 'cpus'):
            if key in platform and (not isinstance(platform[key], int) or platform[key] < 1):
                raise VMError('%s.%s: a positive integer is required' % (where, key))
    for link, names in members.items():
        if len(names) > 2:
            raise VMError('link %r joins %s: a link is point to point (two platforms at most)' % (link, ', '.join(names)))
    return members


def build_image(suite):
    """Return the image directory of SUITE, building it when its inputs changed."""
    started = time.monotonic()
    result = subprocess.run([os.path.join(HERE, 'build-image'), suite], check=False,
                            stdout=subprocess.PIPE, universal_newlines=True)
    if result.returncode != 0:
        raise VMError('building the %s image failed (see the messages above)' % suite)
    took = time.monotonic() - started
    if took > 5:
        log('%s image ready in %.0f s' % (suite, took))
    return result.stdout.strip().splitlines()[-1]


def kvm_works(kernel):
    """Whether KVM really runs a guest here: boot KERNEL until it panics (no root).

    /dev/kvm may exist and still fail ("KVM internal error ... emulation
    failure"), so opening the device proves nothing. The answer is cached per
    host boot. MPTCP_VM_ACCEL=kvm|tcg skips the probe.
    """
    forced = os.environ.get('MPTCP_VM_ACCEL')
    if forced in ('kvm', 'tcg'):
        return forced == 'kvm'
    if not os.access('/dev/kvm', os.R_OK | os.W_OK):
        return False
    with open('/proc/sys/kernel/random/boot_id') as handle:
        boot_id = handle.read().strip()
    cached = os.path.join(CACHE, 'kvm-probe.' + boot_id)
    if os.path.exists(cached):
        with open(cached) as handle:
            return handle.read().strip() == 'kvm'
    argv = [QEMU, '-accel', 'kvm', '-cpu', 'host', '-m', '256', '-nodefaults', '-display', 'none',
            '-serial', 'stdio', '-no-reboot', '-kernel', kernel,
            '-append', 'console=ttyS0 panic=-1 loglevel=3']
    try:
        result = subprocess.run(argv, check=False, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                universal_newlines=True, errors='replace', timeout=20)
        works = 'Kernel panic' in result.stdout and 'KVM internal error' not in result.stdout
    except subprocess.TimeoutExpired:
        works = False
    os.makedirs(CACHE, exist_ok=True)
    for old in os.listdir(CACHE):
        if old.startswith('kvm-probe.'):
            os.remove(os.path.join(CACHE, old))
    with open(cached, 'w') as handle:
        handle.write('kvm\n' if works else 'tcg\n')
    log('KVM probe: %s' % ('KVM works' if works else 'KVM unusable here, using TCG'))
    return works


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def start_qemu(argv_for_port):
    """Start a daemonizing QEMU whose SSH forward listens on a free port;
    return the port. Scenarios may run side by side: the lock keeps another
    run from picking the same port before this QEMU has bound it."""
    os.makedirs(CACHE, exist_ok=True)
    with open(os.path.join(CACHE, 'port.lock'), 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        port = free_port()
        subprocess.run(argv_for_port(port), check=True)
    return port


def mac_address(*names):
    digest = hashlib.sha256('/'.join(names).encode()).digest()
    return '52:54:%02x:%02x:%02x:%02x' % tuple(digest[:4])


def shape_of(platform):
    """What a saved guest must share with the VM restored from it: the
    machine, not the names (memory MiB, CPUs, link NICs)."""
    return platform.get('memory', 1024), platform.get('cpus', 2), len(platform.get('links', []))


def link_macs(scenario, platform):
    """{interface: MAC} of a guest's link NICs (eth1, eth2, ...)."""
    return dict(('eth%d' % (index + 1), mac_address(scenario, link, platform['name']))
                for index, link in enumerate(platform.get('links', [])))


def qemu_argv(scenario, rundir, platform, image, port, members, kvm, saved=False, incoming=None):
    """The QEMU command line of one guest.

    SAVED: the guest has the identity every snapshot shares (host name, MAC
    addresses), which a guest saved to a snapshot and the guests resumed
    from it must have, since their devices must be the same; create() gives
    a resumed guest its own names. INCOMING: resume the guest saved in that
    snapshot directory instead of booting."""
    name = platform['name']
    files = os.path.join(rundir, name)
    # A saved guest keeps the image's /etc/hostname; rename_guest() writes
    # the instance's, which a resumed guest then also has after a reboot.
    hostname = '' if saved else ' systemd.hostname=' + name

    def mac(nic):
        if saved:
            return mac_address(SNAPSHOT_HOSTNAME, nic)
        return mac_address(scenario, name, 'mgmt') if nic == 'mgmt' else link_macs(scenario, platform)[nic]

    argv = [
        QEMU, '-name', NAME_PREFIX + scenario + '/' + name,
        '-machine', 'q35', '-m', str(platform.get('memory', 1024)),
        '-smp', str(platform.get('cpus', 2)),
        '-nodefaults', '-display', 'none', '-daemonize', '-pidfile', files + '.pid',
        '-serial', 'file:' + files + '.serial.log',
        '-qmp', 'unix:%s.qmp,server=on,wait=off' % files,
        '-kernel', os.path.join(image, 'vmlinuz'), '-initrd', os.path.join(image, 'initrd.img'),
        # panic=-1: a guest kernel that panics (seen once in a while at boot
        # under TCG) reboots at once instead of hanging until the SSH timeout.
        '-append', 'root=/dev/vda rw console=ttyS0 net.ifnames=0 mitigations=off panic=-1' + hostname,
        '-drive', 'file=%s.qcow2,if=virtio,format=qcow2,cache=unsafe,discard=unmap' % files,
        '-device', 'virtio-rng-pci',
        # A new generation id at every start: a guest resumed from a snapshot
        # reseeds its random number generator instead of repeating the saved one.
        '-device', 'vmgenid,guid=auto',
        # restrict=on: the guest reaches nothing through user networking
        # (no package mirror, no DNS); SSH from the host still comes in.
        '-netdev', 'user,id=mgmt,net=10.0.2.0/24,restrict=on,hostfwd=tcp:127.0.0.1:%d-:22' % port,
        '-device', 'virtio-net-pci,netdev=mgmt,mac=%s' % mac('mgmt'),
    ]
    if kvm:
        argv += ['-accel', 'kvm', '-cpu', 'host']
    else:
        argv += ['-accel', 'tcg,thread=multi', '-cpu', os.environ.get('MPTCP_VM_CPU', 'max')]
    for index, link in enumerate(platform.get('links', [])):
        peers = [other for other in members.get(link, []) if other != name]
        local = os.path.join(rundir, '%s.%s.sock' % (link, name))
        # A link with one member still gets its NIC; its frames go nowhere.
        remote = os.path.join(rundir, '%s.%s.sock' % (link, peers[0] if peers else '-'))
        argv += [
            '-netdev', 'dgram,id=link%d,local.type=unix,local.path=%s,remote.type=unix,remote.path=%s'
            % (index, local, remote),
            '-device', 'virtio-net-pci,netdev=link%d,id=nic-%s,mac=%s'
            % (index, link, mac('eth%d' % (index + 1))),
        ]
    if incoming:
        # The saved RAM and device state; the path is this tool's own cache.
        argv += ['-incoming', 'exec:cat ' + shlex.quote(os.path.join(incoming, 'state'))]
    return argv


def ssh_argv(instance, command=()):
    return ['ssh', '-i', instance['identity_file'], '-p', str(instance['port']),
            '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10', '-o', 'IdentitiesOnly=yes',
            '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
            '-o', 'LogLevel=ERROR', '%s@%s' % (instance['user'], instance['address'])] + list(command)


def read_pid(path):
    try:
        with open(path) as handle:
            return int(handle.read().strip())
    except (OSError, ValueError):
        return None


def qemu_name(pid):
    """The -name of QEMU process PID when this tool started it, else None."""
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as handle:
            argv = handle.read().decode(errors='replace').split('\0')
    except OSError:
        return None
    for index, arg in enumerate(argv[:-1]):
        if arg == '-name' and argv[index + 1].startswith(NAME_PREFIX):
            return argv[index + 1]
    return None


def stop(pid, wait=10.0):
    """SIGTERM, then SIGKILL, a QEMU of ours; no-op for any other process."""
    if pid is None or qemu_name(pid) is None:
        return
    try:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and qemu_name(pid) is not None:
            time.sleep(0.1)
        if qemu_name(pid) is not None:
            os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def destroy(scenario):
    rundir = scenario_dir(scenario)
    if not os.path.isdir(rundir):
        return
    for entry in sorted(os.listdir(rundir)):
        path = os.path.join(rundir, entry)
        if entry.endswith('.pid'):
            stop(read_pid(path))
    for entry in os.listdir(rundir):
        # Serial logs stay for troubleshooting until the next create.
        if not entry.endswith('.serial.log'):
            os.remove(os.path.join(rundir, entry))


def kill_strays(scenario=None):
    """Stop the QEMUs started by this tool (of SCENARIO only), pidfile or not."""
    prefix = NAME_PREFIX + (scenario + '/' if scenario else '')
    for entry in os.listdir('/proc'):
        name = qemu_name(int(entry)) if entry.isdigit() else None
        if name is not None and name.startswith(prefix):
            log('stopping leftover QEMU %s (%s)' % (entry, name))
            stop(int(entry))


def wait_for_ssh(instances, booted, deadline):
    """Poll until each guest accepts a real root login (not just TCP).

    BOOTED maps each instance name to (QEMU pid, monotonic start time).
    """
    pending = list(instances)
    while pending:
        for instance in list(pending):
            name = instance['instance']
            pid, started = booted[name]
            if qemu_name(pid) is None:
                raise VMError('QEMU of %s exited during boot; see %s' % (name, instance['serial_log']))
            result = subprocess.run(ssh_argv(instance, ['true']), check=False, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if result.returncode == 0:
                log('%s: SSH up after %.0f s' % (name, time.monotonic() - started))
                pending.remove(instance)
        if pending and time.monotonic() > deadline:
            raise VMError('no SSH login to %s within %d s; see %s'
                          % (', '.join(i['instance'] for i in pending), SSH_TIMEOUT,
                             ', '.join(i['serial_log'] for i in pending)))
        if pending:
            time.sleep(2)


def qemu_id():
    """A short digest of the QEMU binary's version: a snapshot is resumed
    only by the QEMU that saved it."""
    out = subprocess.run([QEMU, '--version'], check=True, stdout=subprocess.PIPE,
                         universal_newlines=True).stdout
    return hashlib.sha256(out.encode()).hexdigest()[:8]


def snapshot_dir(image, platform, kvm):
    memory, cpus, nics = shape_of(platform)
    return os.path.join(image, 'snapshots', '%dm-%dc-%dn-%s-%s'
                        % (memory, cpus, nics, 'kvm' if kvm else 'tcg', qemu_id()))


def wait_running(qmp_path, pid, deadline):
    """Until a resuming QEMU runs the guest; False when it gave up. The
    guest was paused when it was saved, so it is loaded paused ("inmigrate"
    while loading) and continued here."""
    while time.monotonic() < deadline:
        if qemu_name(pid) is None:
            return False
        try:
            status = qmp(qmp_path, 'query-status', None).get('status')
            if status == 'running':
                return True
            if status == 'paused':
                qmp(qmp_path, 'cont', None)
        except (OSError, ValueError, VMError):
            pass
        time.sleep(0.2)
    return False


def save_snapshot(image, platform, kvm):
    """The snapshot directory of PLATFORM's shape on IMAGE, saving it first
    when there is none: a guest with the shared identity is booted until
    root can log in, then its RAM and device state go to `state` and its
    disk (an overlay of the image) stays as `disk.qcow2`. Like the images,
    a snapshot is made in a temporary directory renamed into place."""
    target = snapshot_dir(image, platform, kvm)
    if os.path.exists(os.path.join(target, 'state')):
        return target
    parent = os.path.dirname(target)
    os.makedirs(parent, exist_ok=True)
    with open(os.path.join(parent, '.lock'), 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(os.path.join(target, 'state')):
            return target
        started = time.monotonic()
        work = tempfile.mkdtemp(prefix='.saving-', dir=parent)
        memory, cpus, nics = shape_of(platform)
        guest = {'name': 'guest', 'suite': platform['suite'], 'memory': memory, 'cpus': cpus,
                 'links': ['nic%d' % index for index in range(nics)]}
        files = os.path.join(work, 'guest')
        pid = None
        try:
            subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', '-F', 'qcow2',
                            '-b', os.path.join(image, 'disk.qcow2'), files + '.qcow2'], check=True)

            def argv_for_port(port):
                argv = qemu_argv('snapshot', work, guest, image, port, {}, kvm, saved=True)
                argv[argv.index('-name') + 1] = NAME_PREFIX + 'snapshot/' + os.path.basename(target)[:31]
                return argv
            port = start_qemu(argv_for_port)
            pid = read_pid(files + '.pid')
            instance = {'instance': os.path.basename(target), 'address': '127.0.0.1', 'port': port, 'user': 'root',
                        'identity_file': os.path.join(image, 'id_ed25519'), 'serial_log': files + '.serial.log'}
            wait_for_ssh([instance], {instance['instance']: (pid, started)}, time.monotonic() + SSH_TIMEOUT)
            # Less RAM to save and to load: the page cache of the boot goes.
            subprocess.run(ssh_argv(instance, ['sync; echo 3 > /proc/sys/vm/drop_caches']), check=True,
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
            monitor = files + '.qmp'
            qmp(monitor, 'stop', None)
            qmp(monitor, 'migrate-set-parameters', {'max-bandwidth': 8 << 30})
            qmp(monitor, 'migrate', {'uri': 'exec:cat > ' + shlex.quote(os.path.join(work, 'state'))})
            while True:
                status = qmp(monitor, 'query-migrate', None).get('status')
                if status == 'completed':
                    break
                if status in ('failed', 'cancelled'):
                    raise VMError('saving the %s snapshot failed (QMP query-migrate: %s)' % (target, status))
                time.sleep(0.2)
            stop(pid)
            os.rename(files + '.qcow2', os.path.join(work, 'disk.qcow2'))
            for entry in os.listdir(work):
                if entry not in ('disk.qcow2', 'state', 'guest.serial.log'):
                    os.remove(os.path.join(work, entry))
            os.rename(work, target)
        except BaseException:
            stop(pid)
            shutil.rmtree(work, ignore_errors=True)
            raise
        log('%s: saved a booted guest in %.0f s (%s)' % (platform['suite'], time.monotonic() - started, target))
        return target


def rename_guest(instance, platform, scenario):
    """Give a guest resumed from a snapshot its own host name (kept across
    reboots), link MACs (until the next reboot) and the current time."""
    words = ['echo %s >/etc/hostname' % platform['name'], 'hostname %s' % platform['name'],
             'date -s @%d >/dev/null' % int(time.time())]
    for nic, mac in sorted(link_macs(scenario, platform).items()):
        words.append('ip link set dev %s address %s' % (nic, mac))
    subprocess.run(ssh_argv(instance, [' && '.join(words)]), check=True, stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL)


def start_guest(scenario, rundir, platform, image, members, kvm):
    """Start one guest: resumed from its snapshot when there is one that
    QEMU accepts, booted otherwise. Returns (instance, pid, start, resumed)."""
    name = platform['name']
    files = os.path.join(rundir, name)
    # destroy() removed everything of the last run but its serial logs.
    if os.path.exists(files + '.serial.log'):
        os.remove(files + '.serial.log')
    snapshot = save_snapshot(image, platform, kvm) if SNAPSHOTS else None
    for resume in ([snapshot] if snapshot else []) + [None]:
        backing = os.path.join(resume, 'disk.qcow2') if resume else os.path.join(image, 'disk.qcow2')
        if os.path.exists(files + '.qcow2'):
            os.remove(files + '.qcow2')
        subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', backing, files + '.qcow2'],
                       check=True)
        started = time.monotonic()
        port = start_qemu(lambda port: qemu_argv(scenario, rundir, platform, image, port, members, kvm,
                                                 saved=bool(resume), incoming=resume))
        pid = read_pid(files + '.pid')
        if resume and not wait_running(files + '.qmp', pid, time.monotonic() + 120):
            stop(pid)
            log('%s: QEMU did not resume %s; booting instead, and dropping that snapshot' % (name, resume))
            shutil.rmtree(resume, ignore_errors=True)
            continue
        instance = {
            'instance': name, 'address': '127.0.0.1', 'port': port, 'user': 'root',
            'identity_file': os.path.join(image, 'id_ed25519'), 'suite': platform['suite'],
            'links': {link: 'eth%d' % (index + 1) for index, link in enumerate(platform.get('links', []))},
            'serial_log': files + '.serial.log', 'qmp': files + '.qmp',
        }
        return instance, pid, started, bool(resume)
    raise VMError('%s: could not start QEMU' % name)


def create(scenario, platforms):
    members = check_platforms(platforms)
    rundir = scenario_dir(scenario)
    destroy(scenario)
    os.makedirs(rundir, exist_ok=True)
    images = {}
    for suite in sorted({p['suite'] for p in platforms}):
        images[suite] = build_image(suite)
    kvm = kvm_works(os.path.join(images[platforms[0]['suite']], 'vmlinuz'))
    instances, booted, resumed = [], {}, []
    try:
        for platform in platforms:
            instance, pid, started, was_resumed = start_guest(
                scenario, rundir, platform, images[platform['suite']], members, kvm)
            instances.append(instance)
            booted[instance['instance']] = (pid, started)
            if was_resumed:
                resumed.append((instance, platform))
        wait_for_ssh(instances, booted, time.monotonic() + SSH_TIMEOUT)
        for instance, platform in resumed:
            rename_guest(instance, platform, scenario)
    except BaseException:
        destroy(scenario)
        raise
    with open(instances_path(scenario), 'w') as handle:
        json.dump(instances, handle, indent=1)
    return instances


def instances_path(scenario):
    """The instance config of the scenario's running VMs (create writes it)."""
    return os.path.join(scenario_dir(scenario), 'instances.json')


def load_instances(scenario):
    path = instances_path(scenario)
    try:
        with open(path) as handle:
            return json.load(handle)
    except OSError:
        raise VMError('scenario %s has no running VMs (no %s)' % (scenario, path)) from None


def instance_of(scenario, name):
    for instance in load_instances(scenario):
        if instance['instance'] == name:
            return instance
    raise VMError('scenario %s has no instance %r' % (scenario, name))


def qmp(path, command, arguments):
    """Run one QMP command on the monitor socket PATH; return its result."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(path)
        stream = sock.makefile('rw')

        def call(execute, args=None):
            message = {'execute': execute}
            if args:
                message['arguments'] = args
            stream.write(json.dumps(message) + '\n')
            stream.flush()
            while True:
                reply = json.loads(stream.readline())
                if 'error' in reply:
                    raise VMError('QMP %s: %s' % (execute, reply['error'].get('desc')))
                if 'return' in reply:
                    return reply['return']

        json.loads(stream.readline())  # the greeting
        call('qmp_capabilities')
        return call(command, arguments)


def boot_id(instance, timeout):
    """The guest's boot id, or None when root cannot log in within TIMEOUT."""
    try:
        result = subprocess.run(ssh_argv(instance, ['cat', '/proc/sys/kernel/random/boot_id']),
                                check=False, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, universal_newlines=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    return (result.returncode == 0 and result.stdout.strip()) or None


def reboot(scenario, name):
    """Reboot one guest the way a host reboots (systemctl reboot inside it)
    and wait until root logs in again with a new boot id. A harness-side
    poll, one short SSH login every 2 s, instead of ansible.builtin.reboot:
    its connection attempts wait for the whole connection timeout while a
    TCG guest boots (QEMU's user networking accepts the TCP connection
    before the guest can answer it): 174 to 240 s for a guest that took
    about 100 s to accept a login."""
    instance = instance_of(scenario, name)
    before = boot_id(instance, 60)
    if before is None:
        raise VMError('%s: no root login before the reboot' % name)
    started = time.monotonic()
    # The connection may drop before ssh returns: its status says nothing.
    subprocess.run(ssh_argv(instance, ['systemctl', 'reboot']), check=False, stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
    pid = read_pid(os.path.join(scenario_dir(scenario), name + '.pid'))
    while time.monotonic() - started < SSH_TIMEOUT:
        if pid is None or qemu_name(pid) is None:
            raise VMError('QEMU of %s exited during the reboot; see %s' % (name, instance['serial_log']))
        after = boot_id(instance, 30)
        if after is not None and after != before:
            log('%s: rebooted, root logs in again after %.0f s (boot id %s)'
                % (name, time.monotonic() - started, after))
            return after
        time.sleep(2)
    raise VMError('%s: no root login with a new boot id within %d s of the reboot; see %s'
                  % (name, SSH_TIMEOUT, instance['serial_log']))


def set_link(scenario, link, state, only=None):
    on_link = [i for i in load_instances(scenario) if link in i['links']]
    names = [i['instance'] for i in on_link]
    if not names:
        raise VMError('no VM of scenario %s is on link %r (see %s)'
                      % (scenario, link, instances_path(scenario)))
    if only is not None:
        if only not in names:
            raise VMError('%s is not on link %r (VMs on it: %s)' % (only, link, ', '.join(names)))
        on_link = [i for i in on_link if i['instance'] == only]
    for instance in on_link:
        qmp(instance['qmp'], 'set_link', {'name': 'nic-' + link, 'up': state == 'up'})
        log('%s: link %s (%s) %s' % (instance['instance'], link, instance['links'][link], state))


def main(argv=None):
    parser = argparse.ArgumentParser(prog='tools/vm/vm.py', description=__doc__.split('\n', 1)[0])
    sub = parser.add_subparsers(dest='command', required=True)
    cmd = sub.add_parser('create', help='boot the VMs of a scenario; print the instance config')
    cmd.add_argument('--scenario', required=True)
    cmd.add_argument('--platforms', required=True, help='JSON list of platforms')
    cmd = sub.add_parser('destroy', help='stop the VMs of a scenario')
    cmd.add_argument('--scenario', required=True)
    cmd = sub.add_parser('link', help='set the carrier of a link NIC from the host')
    cmd.add_argument('--scenario', required=True)
    cmd.add_argument('link')
    cmd.add_argument('state', choices=('up', 'down'))
    cmd.add_argument('--instance', help='only the NIC of this VM (default: every VM on the link)')
    cmd = sub.add_parser('ssh', help='log in to a guest (or run COMMAND there)')
    cmd.add_argument('--scenario', required=True)
    cmd.add_argument('instance')
    cmd.add_argument('remote', nargs=argparse.REMAINDER)
    cmd = sub.add_parser('reboot', help='reboot a guest and wait until root logs in again')
    cmd.add_argument('--scenario', required=True)
    cmd.add_argument('instance')
    cmd = sub.add_parser('kill-strays', help='stop every QEMU started by this tool')
    cmd.add_argument('--scenario', help='only the VMs of this scenario')
    args = parser.parse_args(argv)
    # Every CPU for the guests this command starts: under Mitogen's strategy
    # Ansible's workers, and the commands they run, are pinned to one CPU
    # (ansible_mitogen.affinity keeps the other for its multiplexer on a
    # 2-CPU host), and a QEMU would inherit that: a 2-vCPU guest on one core.
    try:
        os.sched_setaffinity(0, range(os.cpu_count() or 1))
    except OSError:
        pass
    try:
        if args.command == 'create':
            try:
                platforms = json.loads(args.platforms)
            except ValueError as exc:
                raise VMError('--platforms: not JSON: %s' % exc) from None
            print(json.dumps(create(args.scenario, platforms)))
        elif args.command == 'destroy':
            destroy(args.scenario)
        elif args.command == 'link':
            set_link(args.scenario, args.link, args.state, args.instance)
        elif args.command == 'ssh':
            os.execvp('ssh', ssh_argv(instance_of(args.scenario, args.instance), args.remote))
        elif args.command == 'reboot':
            print(reboot(args.scenario, args.instance))
        elif args.command == 'kill-strays':
            kill_strays(args.scenario)
    except VMError as exc:
        log('error: %s' % exc)
        return 1
    except subprocess.CalledProcessError as exc:
        log('error: %s failed with status %d' % (exc.cmd[0], exc.returncode))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
