"""Role `jupyterhub`: real logins over HTTPS through nginx, real servers and kernels.

What a user does, in order (one hub; the tests depend on their order): HTTP redirects to
HTTPS and the certificate verifies; only nginx listens outside; alice (PAM, admin) logs in,
her server starts as her own systemd unit with the configured limits, kernels (the hub's
Python and the shared environment) run `1 + 1`, a file goes through the shared team
directory to bob; her server survives a hub restart; wrong passwords and users outside the
team are refused; JupyterLab renders in headless Chromium; the idle culler stops bob's
server; re-running the role with the native authenticator needs an admin's approval for a
sign-up, keeps the secrets and the users, and switching back keeps them too; upgrading
JupyterHub from the scenario's older release to the role's default keeps a running server,
the homes, the users and the secrets; playbooks/decommission.yml asks first, removes the hub
and keeps its data, and the role installs it again with its users and their files; with
purge_data the hub's state goes too, never the homes.
"""

import datetime
import functools
import hashlib
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import requests
import websocket
import yaml
from molecule_helpers import assert_unchanged, recap, run_playbook

SCENARIO = Path(os.environ["MOLECULE_SCENARIO_DIRECTORY"])
ROOT = SCENARIO.parents[3]
PASSWORDS = {"alice": "alice-Secret-1", "bob": "bob-Secret-2", "carol": "carol-Secret-3"}
ARTIFACTS = ROOT / "artifacts" / "screenshots"


def converge(*extra):
    """Re-run the scenario's converge playbook (the real role) against the instance."""
    return run_playbook(SCENARIO / "converge.yml", *extra)


class Hub:
    """A browser-like client of the hub: cookies, the _xsrf token, the hub's CA."""

    def __init__(self, address, ca_file):
        self.base = f"https://{address}"
        self.address = address
        self.ca_file = ca_file
        self.session = requests.Session()
        # Per request: a session's `verify` loses to REQUESTS_CA_BUNDLE in the environment.
        self.session.request = functools.partial(self.session.request, verify=ca_file)
        self.token = None

    def login(self, user, password):
        """Submit the login form; True when the hub set its login cookie."""
        self.session.get(f"{self.base}/hub/login", timeout=30).raise_for_status()
        response = self.session.post(
            f"{self.base}/hub/login",
            data={"username": user, "password": password, "_xsrf": self.session.cookies.get("_xsrf")},
            allow_redirects=False, timeout=60)
        return response.status_code == 302 and "jupyterhub-hub-login" in self.session.cookies

    def xsrf_headers(self):
        return {"X-XSRFToken": self.session.cookies.get("_xsrf", path="/hub/")}

    def new_token(self, user):
        """An API token of the logged-in user, made the way the token page makes it: open
        the page (which hands out the XSRF token of the logged-in session; before 5.5 the
        one from the login page is no longer valid), then post with it."""
        self.session.get(f"{self.base}/hub/token", timeout=30).raise_for_status()
        response = self.session.post(f"{self.base}/hub/api/users/{user}/tokens",
                                     json={"note": "testinfra", "expires_in": 3600},
                                     headers=self.xsrf_headers(), timeout=30)
        response.raise_for_status()
        self.token = response.json()["token"]
        return self.token

    def api(self, method, path, **kwargs):
        headers = {"Authorization": f"token {self.token}"}
        return self.session.request(method, f"{self.base}{path}", headers=headers, timeout=60, **kwargs)

    def wait_ready(self, user, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            server = self.api("GET", f"/hub/api/users/{user}").json().get("servers", {}).get("")
            if server and server.get("ready"):
                return server
            time.sleep(2)
        raise AssertionError(f"{user}'s server was not ready within {timeout} s")

    def run_code(self, user, kernel_name, code):
        """Start a kernel, execute code over the kernel's websocket, return text/plain."""
        response = self.api("POST", f"/user/{user}/api/kernels", json={"name": kernel_name})
        assert response.status_code == 201, response.text
        kernel_id = response.json()["id"]
        try:
            ws = websocket.create_connection(
                f"wss://{self.address}/user/{user}/api/kernels/{kernel_id}/channels",
                header=[f"Authorization: token {self.token}"], suppress_origin=True,
                sslopt={"ca_certs": self.ca_file, "cert_reqs": ssl.CERT_REQUIRED}, timeout=60)
            msg_id = uuid.uuid4().hex
            ws.send(json.dumps({
                "header": {"msg_id": msg_id, "username": user, "session": uuid.uuid4().hex,
                           "msg_type": "execute_request", "version": "5.3"},
                "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
                "content": {"code": code, "silent": False, "store_history": False,
                            "user_expressions": {}, "allow_stdin": False, "stop_on_error": True},
            }))
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                message = json.loads(ws.recv())
                if message.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                if message["msg_type"] == "execute_result":
                    return message["content"]["data"]["text/plain"]
                if message["msg_type"] == "error":
                    raise AssertionError(f"{kernel_name}: {message['content']['ename']}: "
                                         f"{message['content']['evalue']}")
            raise AssertionError(f"{kernel_name}: no result within 60 s")
        finally:
            self.api("DELETE", f"/user/{user}/api/kernels/{kernel_id}")


@pytest.fixture(scope="module")
def address(host):
    return subprocess.run(
        ["docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
         host.backend.host], capture_output=True, text=True, check=True).stdout.strip()


def fetch_certificate(host, path):
    Path(path).write_text(host.file("/etc/jupyterhub/tls/cert.pem").content_string)
    return str(path)


@pytest.fixture(scope="module")
def ca_file(host, tmp_path_factory):
    """The hub's self-signed certificate, as the trust anchor a user would install."""
    return fetch_certificate(host, tmp_path_factory.mktemp("tls") / "hub.pem")


@pytest.fixture(scope="module")
def alice(address, ca_file):
    hub = Hub(address, ca_file)
    assert hub.login("alice", PASSWORDS["alice"])
    hub.new_token("alice")
    return hub


def unit_property(host, unit, name):
    return host.check_output(f"systemctl show {unit} -p {name} --value")


def secrets_digest(host):
    out = host.check_output("cat /var/lib/jupyterhub/jupyterhub_cookie_secret /var/lib/jupyterhub/proxy_auth_token")
    return hashlib.sha256(out.encode()).hexdigest()


# --- The way in ------------------------------------------------------------------------------

def test_plain_http_redirects_to_https(address):
    response = requests.get(f"http://{address}/hub/login?next=%2Fhub%2F", allow_redirects=False, timeout=30)
    assert response.status_code == 301
    assert response.headers["Location"] == f"https://{address}/hub/login?next=%2Fhub%2F"


def test_certificate_verifies_and_names_the_host(host, address, ca_file):
    """The login page answers over HTTPS verified against the hub's certificate; its names
    include the host's address, name and the extra name."""
    response = requests.get(f"https://{address}/hub/login", verify=ca_file, timeout=30)
    assert response.status_code == 200
    assert 'name="password"' in response.text
    text = host.check_output("openssl x509 -in /etc/jupyterhub/tls/cert.pem -noout -ext subjectAltName")
    for name in (f"IP Address:{address}", "DNS:eda", "DNS:hub.example.test"):
        assert name in text


def certificate_days(host):
    """Days from now until the hub's certificate expires, and its whole validity in days."""
    dates = dict(line.split("=", 1) for line in host.check_output(
        "openssl x509 -in /etc/jupyterhub/tls/cert.pem -noout -startdate -enddate").splitlines())
    start, end = (datetime.datetime.strptime(dates[key], "%b %d %H:%M:%S %Y %Z").replace(tzinfo=datetime.timezone.utc)
                  for key in ("notBefore", "notAfter"))
    return (end - datetime.datetime.now(datetime.timezone.utc)).days, (end - start).days


def test_the_self_signed_certificate_lives_no_longer_than_browsers_accept(host):
    assert certificate_days(host)[1] == 397  # jupyterhub_tls_selfsigned_days; 398 at most


def tls12_handshake(address, ciphers):
    """The cipher suite a TLS 1.2 client offering only `ciphers` gets, None when refused."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers(ciphers)
    try:
        with socket.create_connection((address, 443), timeout=10) as sock, ctx.wrap_socket(sock) as tls:
            return tls.cipher()[0]
    except ssl.SSLError:
        return None


def test_tls_offers_no_cbc_suite_and_no_version_banner(address, ca_file):
    """What testssl.sh flagged before: CBC suites (LUCKY13) and nginx's version."""
    cbc = ("ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES256-SHA384:"
           "AES128-SHA:AES256-SHA:AES128-SHA256:AES256-SHA256:@SECLEVEL=0")
    assert tls12_handshake(address, cbc) is None
    assert tls12_handshake(address, "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256") is not None
    for response in (requests.get(f"https://{address}/hub/login", verify=ca_file, timeout=30),
                     requests.get(f"http://{address}/", allow_redirects=False, timeout=30)):
        assert response.headers["Server"] == "nginx", response.headers


@pytest.mark.parametrize("port", [8000, 8001, 8081])
def test_hub_and_proxy_listen_on_localhost_only(host, address, port):
    assert host.socket(f"tcp://127.0.0.1:{port}").is_listening
    result = subprocess.run(["timeout", "5", "bash", "-c", f"exec 3<>/dev/tcp/{address}/{port}"],
                            capture_output=True, check=False)
    assert result.returncode != 0, f"port {port} answers on {address}"


# --- alice: login, her server, kernels, the shared directory ---------------------------------

def test_alice_logs_in_and_her_server_starts(alice):
    response = alice.session.get(f"{alice.base}/hub/spawn", allow_redirects=False, timeout=60)
    assert response.status_code == 302, response.text[:500]
    server = alice.wait_ready("alice")
    assert server["url"] == "/user/alice/"


def test_the_hub_api_lists_alice_as_admin(alice):
    users = {user["name"]: user for user in alice.api("GET", "/hub/api/users").json()}
    assert users["alice"]["admin"] is True
    assert users["alice"]["servers"][""]["ready"] is True


def test_her_server_runs_as_her_in_a_limited_unit(host):
    unit = "jupyter-alice-singleuser"
    assert unit_property(host, unit, "ActiveState") == "active"
    assert unit_property(host, unit, "User") == str(host.user("alice").uid)
    assert int(unit_property(host, unit, "MemoryMax")) == 768 * 1024 ** 2
    assert unit_property(host, unit, "CPUQuotaPerSecUSec") == "500ms"
    pid = unit_property(host, unit, "MainPID")
    assert host.check_output(f"ps -o user= -p {pid}") == "alice"


def test_kernelspecs_include_the_hub_python_and_the_shared_environment(alice):
    specs = alice.api("GET", "/user/alice/api/kernelspecs").json()["kernelspecs"]
    assert {"python3", "team"} <= set(specs)
    assert specs["team"]["spec"]["display_name"] == "Python (team)"


def test_jupyterlab_news_announcements_are_off(alice):
    """JupyterLab would ask every user about news and then fetch it from the internet."""
    page = alice.api("GET", "/user/alice/lab", allow_redirects=False)
    assert page.status_code == 200
    config = json.loads(re.search(r'<script id="jupyter-config-data"[^>]*>(.*?)</script>', page.text, re.S)[1])
    disabled = config["disabledExtensions"]
    plugin = "@jupyterlab/apputils-extension:announcements"
    assert disabled.get(plugin) is True if isinstance(disabled, dict) else plugin in disabled


@pytest.mark.parametrize("kernel", ["python3", "team"])
def test_a_kernel_executes_one_plus_one(alice, kernel):
    assert alice.run_code("alice", kernel, "1 + 1") == "2"


def test_a_file_goes_through_the_shared_directory(host, alice):
    """alice's kernel writes into ~/shared; the file is the team's, and bob reads it."""
    code = ("import os, getpass; p = os.path.expanduser('~/shared/from-alice.txt'); "
            "open(p, 'w').write('hello team'); getpass.getuser()")
    assert alice.run_code("alice", "python3", code) == "'alice'"
    shared = host.file("/srv/team/from-alice.txt")
    assert shared.user == "alice"
    assert shared.group == "data-researchers"
    assert host.check_output("runuser -u bob -- cat /home/bob/shared/from-alice.txt") == "hello team"
    assert host.run("runuser -u bob -- touch /srv/team/from-bob.txt").rc == 0
    assert host.run("runuser -u carol -- touch /srv/team/from-carol.txt").rc != 0


def test_her_server_survives_a_hub_restart(host, alice):
    unit = "jupyter-alice-singleuser"
    pid = unit_property(host, unit, "MainPID")
    host.check_output("systemctl restart jupyterhub")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if alice.api("GET", "/user/alice/api/status").status_code == 200:
                break
        except requests.RequestException:
            pass
        time.sleep(2)
    assert alice.api("GET", "/user/alice/api/status").status_code == 200
    assert unit_property(host, unit, "MainPID") == pid


# --- Refusals --------------------------------------------------------------------------------

def test_a_wrong_password_is_refused(address, ca_file):
    assert not Hub(address, ca_file).login("bob", "not-" + PASSWORDS["bob"])


def test_a_user_outside_the_allowed_groups_is_refused(address, ca_file):
    assert not Hub(address, ca_file).login("carol", PASSWORDS["carol"])


# --- In a browser ----------------------------------------------------------------------------

def test_jupyterlab_renders_in_headless_chromium(address):
    """Log in through the form in Chromium; JupyterLab's shell renders; the screenshot is
    kept under artifacts/screenshots/."""
    chromedriver = shutil.which("chromedriver")
    if not chromedriver or not (shutil.which("chromium") or Path("/usr/bin/chromium").exists()):
        pytest.skip("Chromium and chromedriver are not installed (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--window-size=1366,900", "--ignore-certificate-errors"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(chromedriver), options=options)
    try:
        driver.get(f"https://{address}/hub/login")
        driver.find_element(By.ID, "username_input").send_keys("alice")
        driver.find_element(By.ID, "password_input").send_keys(PASSWORDS["alice"])
        driver.find_element(By.ID, "login_submit").click()
        WebDriverWait(driver, 180).until(
            expected_conditions.presence_of_element_located((By.CSS_SELECTOR, ".jp-LabShell")))
        WebDriverWait(driver, 60).until(
            expected_conditions.presence_of_element_located((By.CSS_SELECTOR, ".jp-Launcher")))
        time.sleep(2)  # let the launcher's icons paint
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        target = ARTIFACTS / f"jupyterlab-debian{os.environ['MLP_DEBIAN']}.png"
        assert driver.save_screenshot(str(target))
        assert "/user/alice/lab" in driver.current_url
        assert target.stat().st_size > 10_000
    finally:
        driver.quit()


# --- The idle culler -------------------------------------------------------------------------

def test_the_idle_culler_stops_an_idle_server(host, address, ca_file):
    bob = Hub(address, ca_file)
    assert bob.login("bob", PASSWORDS["bob"])
    bob.new_token("bob")
    assert bob.api("POST", "/hub/api/users/bob/server").status_code in (201, 202)
    bob.wait_ready("bob")
    assert unit_property(host, "jupyter-bob-singleuser", "ActiveState") == "active"
    # timeout 60 s + one look every 10 s, and slack for a busy machine
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if not bob.api("GET", "/hub/api/users/bob").json()["servers"]:
            break
        time.sleep(5)
    assert bob.api("GET", "/hub/api/users/bob").json()["servers"] == {}
    assert unit_property(host, "jupyter-bob-singleuser", "ActiveState") in ("inactive", "")


# --- Re-running the role: native authenticator, and back -------------------------------------

def signup(hub, user, password):
    hub.session.get(f"{hub.base}/hub/signup", timeout=30).raise_for_status()
    response = hub.session.post(
        f"{hub.base}/hub/signup",
        data={"username": user, "signup_password": password, "signup_password_confirmation": password,
              "_xsrf": hub.session.cookies.get("_xsrf")}, timeout=30)
    response.raise_for_status()
    return response.text


def test_native_signup_waits_for_an_admins_approval(host, address, ca_file):
    """Also: a new name for the certificate re-issues it; the secrets stay."""
    before = secrets_digest(host)
    converge("-e", "jupyterhub_authenticator=native",
             "-e", '{"jupyterhub_tls_extra_sans": ["hub.example.test", "notebooks.example.test"]}')
    assert secrets_digest(host) == before
    assert "DNS:notebooks.example.test" in host.check_output(
        "openssl x509 -in /etc/jupyterhub/tls/cert.pem -noout -ext subjectAltName")

    ca_file = fetch_certificate(host, ca_file)
    dave = Hub(address, ca_file)
    signup(dave, "dave", "Dave-Signup-Pass-9")
    assert not dave.login("dave", "Dave-Signup-Pass-9")

    admin = Hub(address, ca_file)
    signup(admin, "alice", "Alice-Native-Pass-9")  # admins are authorized on sign-up
    assert admin.login("alice", "Alice-Native-Pass-9")
    page = admin.session.get(f"{admin.base}/hub/authorize", timeout=30)
    assert "dave" in page.text
    admin.session.get(f"{admin.base}/hub/authorize/dave", timeout=30).raise_for_status()

    assert Hub(address, ca_file).login("dave", "Dave-Signup-Pass-9")


def test_back_to_pam_the_users_and_secrets_are_kept(host, address, ca_file):
    """(The culler, watched above, is given an hour from here on: the upgrade below needs
    alice's server to stay up, and this run saves it a run of its own. The same run renews a
    self-signed certificate that expires within jupyterhub_tls_selfsigned_renew_days.)"""
    before = secrets_digest(host)
    host.check_output("openssl req -x509 -key /etc/jupyterhub/tls/key.pem -subj /CN=eda -days 5"
                      " -out /etc/jupyterhub/tls/cert.pem")
    assert certificate_days(host)[0] < 5
    converge("-e", "jupyterhub_idle_timeout=3600")
    assert secrets_digest(host) == before
    assert certificate_days(host)[0] >= 396
    ca_file = fetch_certificate(host, ca_file)
    hub = Hub(address, ca_file)
    assert hub.login("alice", PASSWORDS["alice"])
    hub.new_token("alice")
    names = {user["name"] for user in hub.api("GET", "/hub/api/users").json()}
    assert {"alice", "bob", "dave"} <= names


# --- Upgrading -------------------------------------------------------------------------------

def test_an_upgrade_keeps_servers_homes_users_and_secrets(host, address, ca_file):
    """From the scenario's older JupyterHub to the role's default, with alice's server
    running and a file in her home (the culler has an hour since the return to PAM, so that
    only the upgrade could stop her server)."""
    target = yaml.safe_load((ROOT / "roles/jupyterhub/defaults/main.yml").read_text())["jupyterhub_version"]
    ca_file = fetch_certificate(host, ca_file)
    hub = Hub(address, ca_file)
    assert hub.login("alice", PASSWORDS["alice"])
    hub.new_token("alice")
    old = hub.api("GET", "/hub/api/").json()["version"]
    assert old != target, "the scenario must start on an older release than the role's default"
    assert "--timeout=3600" in host.file("/etc/jupyterhub/jupyterhub_config.py").content_string

    assert hub.api("POST", "/hub/api/users/alice/server").status_code in (201, 202)
    hub.wait_ready("alice")
    assert hub.run_code("alice", "python3", "open('/home/alice/notes.txt', 'w').write('kept')") == "4"
    pid = unit_property(host, "jupyter-alice-singleuser", "MainPID")
    before = secrets_digest(host)

    converge("-e", "jupyterhub_idle_timeout=3600", "-e", f"jupyterhub_version={target}")

    assert hub.api("GET", "/hub/api/").json()["version"] == target
    assert unit_property(host, "jupyter-alice-singleuser", "MainPID") == pid
    assert hub.api("GET", "/user/alice/api/status").status_code == 200
    assert hub.run_code("alice", "python3", "open('/home/alice/notes.txt').read()") == "'kept'"
    assert {"alice", "bob", "dave"} <= {user["name"] for user in hub.api("GET", "/hub/api/users").json()}
    assert secrets_digest(host) == before


# --- Uninstall and install again (playbooks/decommission.yml), last --------------------------

DECOMMISSION = ROOT / "playbooks" / "decommission.yml"
CONFIRMED = ("--tags", "jupyterhub", "-e", "skip_confirmation=true")


def hub_answers(address, ca_file):
    try:
        return requests.get(f"https://{address}/hub/api/", verify=ca_file, timeout=10).status_code == 200
    except requests.RequestException:
        return False


def test_decommission_asks_first_and_dry_runs_change_nothing(host, address, ca_file):
    """Without confirmation (no terminal: no 'yes') nothing goes; --check reports what would go
    and leaves the hub serving; a switch that is not a boolean is refused."""
    ca_file = fetch_certificate(host, ca_file)
    refused = run_playbook(DECOMMISSION, "--tags", "jupyterhub", expect_rc=2)
    assert "Not confirmed" in refused.stdout, refused.stdout[-2000:]
    bad = run_playbook(DECOMMISSION, *CONFIRMED, "-e", "purge_data=everything", expect_rc=2)
    assert "purge_data and skip_confirmation are true or false" in bad.stdout
    dry = run_playbook(DECOMMISSION, *CONFIRMED, "--check")
    assert sum(result["changed"] for result in recap(dry.stdout).values()) > 0
    assert hub_answers(address, ca_file)
    assert host.service("jupyterhub").is_running


def test_decommission_removes_the_hub_and_keeps_its_data(host, address, ca_file):
    """alice's server was running (the upgrade test left it): it stops with the hub; the hub's
    software, unit, site, configuration and nginx go; its database and secrets, the shared
    directory and the homes stay. A second run changes nothing."""
    secrets = secrets_digest(host)
    run_playbook(DECOMMISSION, *CONFIRMED)
    assert not hub_answers(address, ca_file)
    for unit in ("jupyterhub", "jupyter-alice-singleuser"):
        assert host.run(f"systemctl is-active {unit}").stdout.strip() != "active", unit
    for path in ("/opt/jupyterhub", "/etc/jupyterhub", "/etc/systemd/system/jupyterhub.service",
                 "/etc/nginx/sites-enabled/jupyterhub.conf"):
        assert not host.file(path).exists, path
    assert not host.package("nginx").is_installed
    assert not host.package("node-configurable-http-proxy").is_installed
    assert host.file("/var/lib/jupyterhub/jupyterhub.sqlite").exists
    assert secrets_digest(host) == secrets
    assert host.file("/srv/team").is_directory and host.file("/home/alice/shared").is_symlink
    assert host.file("/home/alice/notes.txt").content_string == "kept"
    again = run_playbook(DECOMMISSION, *CONFIRMED)
    assert_unchanged(again)


def test_installed_again_the_hub_has_its_users_and_their_files(host, address, ca_file):
    """The role on the same host converges to a working hub (a new self-signed certificate:
    its configuration went) with the users it had, and alice's file is there in her server."""
    target = yaml.safe_load((ROOT / "roles/jupyterhub/defaults/main.yml").read_text())["jupyterhub_version"]
    converge("-e", "jupyterhub_idle_timeout=3600", "-e", f"jupyterhub_version={target}")
    ca_file = fetch_certificate(host, ca_file)
    hub = Hub(address, ca_file)
    assert hub.login("alice", PASSWORDS["alice"])
    hub.new_token("alice")
    assert {"alice", "bob", "dave"} <= {user["name"] for user in hub.api("GET", "/hub/api/users").json()}
    assert hub.api("POST", "/hub/api/users/alice/server").status_code in (201, 202)
    hub.wait_ready("alice")
    assert hub.run_code("alice", "python3", "open('/home/alice/notes.txt').read()") == "'kept'"


def test_decommission_with_purge_data_removes_the_hubs_state_not_the_homes(host):
    run_playbook(DECOMMISSION, *CONFIRMED, "-e", "purge_data=true")
    for path in ("/var/lib/jupyterhub", "/srv/team", "/opt/jupyterhub"):
        assert not host.file(path).exists, path
    for link in ("/home/alice/shared", "/etc/skel/shared"):
        assert not host.file(link).is_symlink, link
    assert host.file("/home/alice/notes.txt").content_string == "kept"
