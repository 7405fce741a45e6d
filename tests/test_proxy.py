"""The portal pages (Chromium) and the PISTE calls (httpx) through a real HTTP proxy:
Debian's tinyproxy, started here on a free loopback port, whose log proves what went through
it. With and without proxy authentication; the proxy password never shows anywhere."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bot.config import build_settings
from bot.errors import ConfigError
from bot.proxy import Proxy, chromium_bypass
from fixtures.mock_portal import MockPortal
from fixtures.mock_portal.piste import RATTACHEMENTS_PATH, TOKEN_PATH
from tests.conftest import SIAGEP, Cli, portal_secrets
from tests.ports import start_on_a_free_port
from tests.test_verify import piste_args, set_piste, store_technical

# tinyproxy's config syntax takes letters, digits and a few signs only in BasicAuth.
PROXY_USER, PROXY_PASSWORD = "relais", "Proxy-Mdp-2026-x7Q"
TINYPROXY = shutil.which("tinyproxy") or "/usr/bin/tinyproxy"
_REQUEST = re.compile(r"Request \(file descriptor \d+\): (\w+) (\S+) HTTP/")


@dataclass
class Tinyproxy:
    port: int
    log: Path
    process: subprocess.Popen

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def requests(self, portal: MockPortal) -> Counter[tuple[str, str]]:
        """(method, path) of every request for the portal that the proxy forwarded or refused,
        as the mock logs them. (Chromium's own background calls to Google go there too.)"""
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        netloc = urlsplit(portal.url).netloc
        return Counter(
            (method, urlsplit(url).path)
            for method, url in _REQUEST.findall(text)
            if urlsplit(url).netloc == netloc
        )


@pytest.fixture
def start_proxy(tmp_path: Path) -> Iterator:
    if not Path(TINYPROXY).exists():
        pytest.fail("tinyproxy is missing: run `make proxy-deps` (scripts/ensure-proxy-deps.sh)")
    started: list[Tinyproxy] = []

    def start(auth: tuple[str, str] | None = None) -> Tinyproxy:
        folder = tmp_path / f"proxy{len(started)}"
        folder.mkdir()

        def on(port: int) -> Tinyproxy | None:
            lines = [
                f"Port {port}",
                "Listen 127.0.0.1",
                "Allow 127.0.0.1",
                "Timeout 60",
                "MaxClients 50",
                f'LogFile "{folder / "tinyproxy.log"}"',
                "LogLevel Info",
                "DisableViaHeader Yes",
            ]
            if auth:
                lines.append(f"BasicAuth {auth[0]} {auth[1]}")
            (folder / "tinyproxy.conf").write_text("\n".join(lines) + "\n", encoding="utf-8")
            process = subprocess.Popen(
                [TINYPROXY, "-d", "-c", str(folder / "tinyproxy.conf")],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            proxy = Tinyproxy(port, folder / "tinyproxy.log", process)
            started.append(proxy)
            deadline = time.monotonic() + 30  # only so that a broken start fails, not hangs
            while True:
                if process.poll() is not None:
                    return None  # it could not bind: the port was taken meanwhile
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    return proxy
                except OSError:
                    if time.monotonic() > deadline:
                        pytest.fail("tinyproxy did not start within 30 s")

        try:
            return start_on_a_free_port(on)
        except OSError:
            pytest.fail(f"tinyproxy did not start (exit {started[-1].process.poll()})")

    yield start
    for proxy in started:
        proxy.process.terminate()
        proxy.process.wait(timeout=10)


@pytest.fixture
def verify_ready(cli: Cli, portal: MockPortal, real_keyring) -> Cli:
    """PISTE client and SIAGEP's current technical password in the keyring, for `--verify`."""
    set_piste(cli)
    record = portal.state.structure(SIAGEP)
    store_technical(SIAGEP, record.tech_login, record.tech_password)
    return cli


def assert_all_went_through(proxy: Tinyproxy, portal: MockPortal) -> None:
    seen = proxy.requests(portal)
    reached = Counter(portal.state.requests)
    # Every request the portal got came through the proxy (an authenticating proxy may have
    # seen more: the first, unauthenticated try of each connection).
    missing = {key: n for key, n in reached.items() if seen[key] < n}
    assert not missing, f"went around the proxy: {missing}"
    assert reached[("POST", "/portail/login")] or any(method == "POST" for method, _ in reached), (
        reached
    )
    assert reached[("POST", TOKEN_PATH)] >= 1
    assert reached[("POST", RATTACHEMENTS_PATH)] == 1


def test_portal_and_piste_go_through_the_proxy_option(verify_ready, portal, start_proxy):
    proxy = start_proxy()

    result = verify_ready(
        "check", "-s", SIAGEP, "--verify", "--proxy", proxy.url, *piste_args(portal)
    )

    assert result.returncode == 0, result.output
    assert "Chorus Pro API : accepted" in result.stdout
    assert_all_went_through(proxy, portal)
    assert len(portal.state.requests) > 5


def test_https_proxy_variable_with_authentication(verify_ready, portal, start_proxy):
    proxy = start_proxy(auth=(PROXY_USER, PROXY_PASSWORD))
    stored = verify_ready(
        "credentials", "set", "--proxy", "--proxy-user", PROXY_USER, "--password-stdin",
        input=PROXY_PASSWORD,
    )  # fmt: skip
    assert stored.returncode == 0, stored.output
    url = proxy.url.replace("http://", f"http://{PROXY_USER}@")

    result = verify_ready(
        "check", "-s", SIAGEP, "--verify", "--trace", "--verbose", *piste_args(portal),
        HTTPS_PROXY=url,
    )  # fmt: skip

    assert result.returncode == 0, result.output
    assert_all_went_through(proxy, portal)
    shown = verify_ready("config", "show", HTTPS_PROXY=url)
    assert f"proxy = '{url}'  # env HTTPS_PROXY" in shown.stdout
    # Outputs, the log file, the kept run folder and its trace: no proxy password.
    verify_ready.assert_no_secret([PROXY_PASSWORD, *portal_secrets(portal)])


def test_a_wrong_proxy_password_stops_at_the_proxy(cli, portal, start_proxy, real_keyring):
    proxy = start_proxy(auth=(PROXY_USER, PROXY_PASSWORD))
    cli("credentials", "set", "--proxy", "--proxy-user", PROXY_USER, "--password-stdin",
        input="Pas-Le-Bon")  # fmt: skip

    result = cli("check", "-s", SIAGEP, "--proxy", proxy.url)

    assert result.returncode == 1, result.output
    assert "proxy" in result.last_error_line()
    assert portal.state.requests == []
    assert proxy.requests(portal)


def test_no_proxy_sends_the_listed_hosts_direct(verify_ready, portal, start_proxy):
    proxy = start_proxy()

    result = verify_ready(
        "check", "-s", SIAGEP, "--verify", *piste_args(portal),
        https_proxy=proxy.url, NO_PROXY="example.org,127.0.0.1",
    )  # fmt: skip

    assert result.returncode == 0, result.output
    assert portal.state.requests and not proxy.requests(portal)


def test_a_password_in_the_proxy_url_is_refused(cli, portal):
    result = cli("status", "--proxy", f"http://{PROXY_USER}:{PROXY_PASSWORD}@127.0.0.1:3128")

    assert result.returncode == 2, result.output
    assert "--proxy holds a password" in result.stderr
    assert "credentials set --proxy" in result.stderr
    cli.config_file.write_text(f'proxy = "http://u:{PROXY_PASSWORD}@proxy:3128"\n')
    from_file = cli("status")
    assert from_file.returncode == 2 and "proxy in the config file holds" in from_file.stderr
    assert portal.state.requests == []
    cli.assert_no_secret([PROXY_PASSWORD])


def test_a_proxy_user_without_a_stored_password_is_a_usage_error(cli, portal, real_keyring):
    result = cli("check", "-s", SIAGEP, "--proxy", "http://someone@127.0.0.1:9")
    assert result.returncode == 2, result.output
    assert "no password is stored for the proxy user 'someone'" in result.stderr
    assert portal.state.requests == []


# Settings and translations, no network ----------------------------------------------------


@pytest.fixture
def clean_env(tmp_path, monkeypatch):
    monkeypatch.setenv("CHORUS_BOT_CONFIG", str(tmp_path / "none.toml"))
    for name in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_environment_proxy_as_curl_reads_it(clean_env, tmp_path):
    clean_env.setenv("HTTP_PROXY", "http://plain:3128")
    assert build_settings().proxy.server == "http://plain:3128"
    clean_env.setenv("HTTPS_PROXY", "proxy.example.fr:8080")  # no scheme: http, as curl
    clean_env.setenv("https_proxy", "http://lower@proxy.example.fr:3128")
    clean_env.setenv("NO_PROXY", "intranet.local, .example.org")
    settings = build_settings()
    assert settings.proxy.server == "http://proxy.example.fr:3128"
    assert settings.proxy.username == "lower"
    assert settings.sources["proxy"] == "env https_proxy"
    assert settings.no_proxy == ("intranet.local", ".example.org")
    # The config file beats the environment; an option beats both; "" turns it off.
    config = tmp_path / "config.toml"
    config.write_text('proxy = "http://file-proxy:3128"\n')
    clean_env.setenv("CHORUS_BOT_CONFIG", str(config))
    assert build_settings().proxy.server == "http://file-proxy:3128"
    assert build_settings(proxy="http://opt:1").sources["proxy"] == "option"
    assert build_settings(proxy="").proxy is None


def test_a_password_from_the_environment_is_used_but_never_shown(clean_env):
    clean_env.setenv("HTTPS_PROXY", "http://u:Env-Secret-9@proxy:3128")
    proxy = build_settings().proxy
    assert proxy.env_password == "Env-Secret-9"
    assert "Env-Secret-9" not in str(proxy) and "Env-Secret-9" not in repr(proxy)


@pytest.mark.parametrize(
    "bad", ["socks5://proxy:1080", "http://proxy:notaport", "ftp://proxy", "http://"]
)
def test_bad_proxy_urls_are_config_errors(clean_env, bad):
    with pytest.raises(ConfigError):
        build_settings(proxy=bad)


def test_no_proxy_in_chromium_and_httpx_terms():
    assert chromium_bypass(()) == "<-loopback>"
    assert chromium_bypass(("example.org", ".intranet.local", "10.0.0.0/8")) == (
        "example.org,*.example.org,intranet.local,*.intranet.local,10.0.0.0/8,<-loopback>"
    )
    # NO_PROXY naming loopback keeps Chromium's own loopback bypass.
    assert chromium_bypass(("localhost",)) == "localhost,*.localhost"
    proxy = Proxy("http://p:3128", ("example.org", "127.0.0.1", "::1"), "u", "pw")
    assert proxy.playwright() == {
        "server": "http://p:3128",
        "bypass": "example.org,*.example.org,127.0.0.1,::1",
        "username": "u",
        "password": "pw",
    }
    mounts = proxy.httpx_mounts()
    assert mounts["all://*example.org"] is None and mounts["all://127.0.0.1"] is None
    assert mounts["all://[::1]"] is None and mounts["all://"] is not None
    assert Proxy("http://p:3128", ("*",)).playwright() is None


# ca_file: a private authority, as a TLS-inspecting proxy has --------------------------------


def _authority_and_server_cert(folder: Path) -> tuple[Path, Path, Path]:
    """A CA, and a certificate it signed for localhost: (ca.pem, cert.pem, key.pem)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)

    def build(subject, issuer, public_key, signer, *, ca: bool, names=None):
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if ca:
            builder = builder.add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                critical=True,
            )
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        return builder.sign(signer, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = build("Proxy CA", "Proxy CA", ca_key.public_key(), ca_key, ca=True)
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = build("localhost", "Proxy CA", key.public_key(), ca_key, ca=False, names=names)
    pem = serialization.Encoding.PEM
    paths = (folder / "ca.pem", folder / "cert.pem", folder / "key.pem")
    paths[0].write_bytes(ca_cert.public_bytes(pem))
    paths[1].write_bytes(cert.public_bytes(pem))
    paths[2].write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return paths


@pytest.fixture
def tls_api(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A minimal PISTE look-alike over TLS with a certificate from a private CA."""
    import json as jsonlib
    import ssl
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    ca, cert, key = _authority_and_server_cert(tmp_path)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = {"access_token": "t0k3n"} if self.path.endswith("/token") else {"codeRetour": 0}
            data = jsonlib.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://localhost:{server.server_address[1]}", ca
    server.shutdown()
    server.server_close()


def test_ca_file_makes_the_piste_client_trust_a_private_authority(tls_api):
    from bot.errors import PisteUnavailable
    from bot.piste import Endpoints, PisteClient

    url, ca = tls_api
    endpoints = Endpoints(oauth_url=f"{url}/token", api_url=url)

    with PisteClient(endpoints, "id", "secret", timeout=5, tries=1, ca_file=str(ca)) as piste:
        assert piste.verify("TECH_x@cpro.fr", "pw").accepted
    # Without it the certificate is refused: TLS errors are never ignored.
    with (
        PisteClient(endpoints, "id", "secret", timeout=5, tries=1) as piste,
        pytest.raises(PisteUnavailable),
    ):
        piste.verify("TECH_x@cpro.fr", "pw")


def test_a_ca_file_that_is_not_pem_is_a_config_error(tmp_path, clean_env):
    from bot.piste import Endpoints, PisteClient

    bad = tmp_path / "not-a-ca.pem"
    bad.write_text("not a certificate\n")
    config = tmp_path / "config.toml"
    config.write_text(f'ca_file = "{bad}"\n')
    clean_env.setenv("CHORUS_BOT_CONFIG", str(config))
    settings = build_settings()
    assert settings.ca_file == str(bad)
    with pytest.raises(ConfigError, match="cannot be read as PEM"):
        PisteClient(Endpoints("https://x/t", "https://x"), "id", "s", ca_file=settings.ca_file)
    with pytest.raises(ConfigError, match="is not a file"):
        build_settings(ca_file=str(tmp_path / "absent.pem"))
