"""Service settings: one documented file, each value overridable by an environment variable.

The file is YAML (``masterclass.yaml`` in the working folder, or the path in
``MASTERCLASS_CONFIG``). Every :class:`Setting` carries its documentation; a
doc-contract test checks that docs/settings.md lists each one.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml


@dataclass(frozen=True)
class Setting:
    name: str
    doc: str
    default: Any
    kind: str = "str"
    """str, int, bool, email, list (a YAML list, or a comma-separated environment value), endpoints or mapping."""

    @property
    def env(self) -> str:
        return "MASTERCLASS_" + self.name.upper()


SETTINGS: tuple[Setting, ...] = (
    Setting("base_url", "The address learners use, e.g. `https://learn.example.gov.uk`. It is the home page "
            "of learner accounts in xAPI statements; cookies are marked Secure when it starts with https. Left "
            "unset, `masterclass serve` uses the address it serves at, and warns when that is every interface "
            "(`--host 0.0.0.0`).", "http://127.0.0.1:8000"),
    Setting("service_name", "The service name shown in the header and page titles.", "Innovation Masterclass"),
    Setting("departments", "The departments a learner chooses from when they register.",
            ["Cabinet Office", "Department for Education", "Department for Work and Pensions",
             "Department of Health and Social Care", "HM Revenue and Customs", "HM Treasury", "Home Office",
             "Ministry of Defence", "Ministry of Justice", "Other"], "list"),
    Setting("allowed_email_domains", "If not empty, only work emails ending in one of these domains may "
            "register, e.g. `gov.uk`. A domain also allows its subdomains.", [], "list"),
    Setting("max_body_bytes", "The largest request body accepted, in bytes; larger ones get 413.", 65536, "int"),
    Setting("session_days", "How long a sign-in lasts, in days from signing in: then the browser must sign in "
            "again, whatever its cookie says (the server ends the session too). Signing in again, or setting a "
            "password with a link, starts a new one. At most 3650.", 30, "int"),
    Setting("sign_in_attempts", "Failed sign-ins allowed in 15 minutes to one account from one network address, "
            "and in one browser that has signed in to the account before; then sign-in to it there waits. A "
            "browser that has signed in before is not stopped by anyone else's failures.", 5, "int"),
    Setting("sign_in_attempts_per_account", "Failed sign-ins allowed to one account in 15 minutes from browsers "
            "that have not signed in to it before, whatever their addresses; then sign-in to it waits in every "
            "such browser, but not in those that have. More than `sign_in_attempts`, so that failures from one "
            "address alone do not stop the account's owner signing in from another.", 10, "int"),
    Setting("sign_in_attempts_per_address", "Failed sign-ins allowed from one network address in 15 minutes, "
            "whatever the accounts; then sign-in from that address waits, except in browsers that have signed in to "
            "the account before. Far more than per account: a department's offices reach the service through a few "
            "shared addresses, so everyone's typing mistakes count here together. An IPv6 address counts with the "
            "rest of its /64, which one line is given.", 300, "int"),
    Setting("trusted_proxies", "The addresses (e.g. `127.0.0.1`) or network (e.g. `10.20.0.0/24`, at most a /16, "
            "or a /48 in IPv6) of the reverse proxies in front of the service, and nothing else: it believes their "
            "`X-Forwarded-For` and `X-Forwarded-Proto` headers, so the learner's address is the one the proxy saw, "
            "for sign-in limits and the access log. Empty: the headers are ignored, and every request behind a "
            "proxy comes from the proxy's address.", [], "list"),
    Setting("access_log", "Write one line per request to standard output in the Common Log Format (client, time, "
            "request line, status), each line within 0.2 s of its response; what is left is written when the service "
            "stops.", True, "bool"),
    Setting("lrs_endpoints", "External Learning Record Stores that receive every statement: a list of mappings "
            "with `name`, `url` (the LRS's xAPI base, e.g. `https://lrs.example/xAPI`), `username`, `password` "
            "and optional `version` (default 1.0.3). As an environment variable: the same list as JSON.",
            [], "endpoints"),
    Setting("lrs_batch_size", "How many statements go to an external LRS in one request.", 100, "int"),
    Setting("lrs_sign_in_attempts_per_address", "Failed credentials allowed at the built-in LRS (`/xapi/`) from "
            "one network address in 15 minutes, whatever the keys; then that address gets 429 for 15 minutes, "
            "except with credentials already accepted since the service started. A credential itself is never "
            "locked: what this bounds is the argon2 work (tens of milliseconds a failure) one address can ask for. "
            "An IPv6 address counts with the rest of its /64.", 20, "int"),
    Setting("measure_baselines", "For survey measures (polls tagged `measure=`), a figure to compare the share "
            "who agree with: a mapping of measure name to `percent` and `source`. The default is the Civil Service "
            "figure the Innovation Masterclass sets out to beat. As an environment variable: the same mapping as "
            "JSON.", {"confidence": {"percent": 42.6, "source": "Civil servants who said they felt equipped to turn "
                                     "ideas into impact, before the programme"}}, "mapping"),
    Setting("support_email", "An email address learners can write to for help, another format, or to report an "
            "accessibility problem; the accessibility statement gives it. Empty: the statement tells them to contact "
            "the team that runs the service in their department.", "", "email"),
    Setting("xapi_include_email", "Identify learners in xAPI statements by email instead of an opaque "
            "account id. Off by default (data minimisation).", False, "bool"),
)


@dataclass
class Settings:
    values: dict[str, Any] = field(default_factory=lambda: {s.name: s.default for s in SETTINGS})
    given: frozenset[str] = frozenset()
    """The settings the file or the environment set, rather than left at their defaults."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["values"][name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def secure_cookies(self) -> bool:
        return str(self.values["base_url"]).startswith("https://")


class SettingsError(Exception):
    pass


def _endpoints(value: Any, where: str) -> list[dict[str, str]]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise SettingsError(f"{where}: lrs_endpoints must be a JSON list of endpoints") from None
    if not isinstance(value, list):
        raise SettingsError(f"{where}: lrs_endpoints must be a list")
    endpoints = []
    for n, item in enumerate(value):
        if not isinstance(item, dict) or not all(isinstance(item.get(k), str) for k in ("name", "url")):
            raise SettingsError(f"{where}: lrs_endpoints[{n}] needs a name and a url")
        unknown = set(item) - {"name", "url", "username", "password", "version"}
        if unknown:
            raise SettingsError(f"{where}: lrs_endpoints[{n}] has unknown key {sorted(unknown)[0]!r}")
        endpoints.append({"name": item["name"], "url": item["url"].rstrip("/"),
                          "username": str(item.get("username", "")), "password": str(item.get("password", "")),
                          "version": str(item.get("version", "1.0.3"))})
    names = [e["name"] for e in endpoints]
    if len(set(names)) != len(names):
        raise SettingsError(f"{where}: two lrs_endpoints have the same name")
    return endpoints


def _baselines(value: Any, where: str) -> dict[str, dict[str, Any]]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise SettingsError(f"{where}: measure_baselines must be a JSON mapping") from None
    if not isinstance(value, dict):
        raise SettingsError(f"{where}: measure_baselines must be a mapping of measure names")
    out = {}
    for name, item in value.items():
        percent = item.get("percent") if isinstance(item, dict) else None
        if isinstance(percent, bool) or not isinstance(percent, int | float) or not 0 <= percent <= 100:
            raise SettingsError(f"{where}: measure_baselines.{name} needs a percent from 0 to 100")
        unknown = set(item) - {"percent", "source"}
        if unknown:
            raise SettingsError(f"{where}: measure_baselines.{name} has unknown key {sorted(unknown)[0]!r}")
        out[str(name)] = {"percent": float(percent), "source": str(item.get("source", ""))}
    return out


def _coerce(setting: Setting, value: Any, where: str) -> Any:
    if setting.kind == "mapping":
        return _baselines(value, where)
    if setting.kind == "endpoints":
        return _endpoints(value, where)
    if setting.kind == "list":
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            if setting.name == "departments" and not [v for v in value if v.strip()]:
                raise SettingsError(f"{where}: departments must list at least one department")
            return value
        raise SettingsError(f"{where}: {setting.name} must be a list of text")
    if setting.kind == "int":
        # A whole number written in ASCII digits: int() would also take 1.9 (as 1), true (as 1) and "١٠".
        text = str(value).strip() if isinstance(value, int | str) and not isinstance(value, bool) else ""
        if not (text.isascii() and text.isdigit() and len(text) <= 12) or int(text) < MINIMUM.get(setting.name, 0):
            low = MINIMUM.get(setting.name, 0)
            raise SettingsError(f"{where}: {setting.name} must be a whole number, {low} or more")
        if setting.name in MAXIMUM and int(text) > MAXIMUM[setting.name]:
            raise SettingsError(f"{where}: {setting.name} must be {MAXIMUM[setting.name]:,} or less")
        return int(text)
    if setting.kind == "bool":
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("1", "true", "yes", "on"):
            return True
        if str(value).lower() in ("0", "false", "no", "off"):
            return False
        raise SettingsError(f"{where}: {setting.name} must be true or false")
    if not isinstance(value, str):
        raise SettingsError(f"{where}: {setting.name} must be text")
    if setting.kind == "email" and value.strip() and not _EMAIL.fullmatch(value.strip()):
        raise SettingsError(f"{where}: {setting.name} must be an email address, like team@example.gov.uk")
    return value.strip() if setting.kind == "email" else value


MINIMUM = {"max_body_bytes": 1024, "session_days": 1, "sign_in_attempts": 1, "sign_in_attempts_per_account": 1,
           "sign_in_attempts_per_address": 1, "lrs_batch_size": 1, "lrs_sign_in_attempts_per_address": 1}
"""The least each whole-number setting may be (else 0)."""
MAXIMUM = {"session_days": 3650}
"""The most a whole-number setting may be, where more would mean nothing (a sign-in of ten years) or break."""

_EMAIL = re.compile(r"[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\".]+")
"""Enough to catch a typo, and nothing that could break out of a mailto link."""


def load_settings(path: str | Path | None = None, environ: dict[str, str] | None = None) -> Settings:
    environ = dict(os.environ if environ is None else environ)
    named = environ.get("MASTERCLASS_CONFIG") if path is None else None
    file = Path(path or named or "masterclass.yaml")
    data: dict[str, Any] = {}
    if named and not file.exists():  # asked for by name: a typo must not serve on the defaults (``--config``
        raise SettingsError(f"{file}: there is no settings file here")  # is checked by the command line)
    if file.exists():
        try:
            loaded = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise SettingsError(f"{file}: invalid YAML: {exc}") from None
        except UnicodeDecodeError as exc:
            raise SettingsError(f"{file}: not UTF-8 text (byte {exc.start})") from None
        except OSError as exc:  # a folder, a file it may not read
            raise SettingsError(f"{file}: cannot be read: {exc.strerror}") from None
        if not isinstance(loaded, dict):
            raise SettingsError(f"{file}: must be a mapping of setting names to values")
        known = {s.name for s in SETTINGS}
        unknown = sorted(set(loaded) - known)
        if unknown:
            raise SettingsError(f"{file}: unknown setting {unknown[0]!r}; known: {', '.join(sorted(known))}")
        data = loaded
    values = {}
    for setting in SETTINGS:
        value = setting.default
        if setting.name in data:
            value = _coerce(setting, data[setting.name], str(file))
        if setting.env in environ:
            value = _coerce(setting, environ[setting.env], setting.env)
        values[setting.name] = value
    def where(*names: str) -> str:
        """Where a setting came from, for its error: the first of their environment variables set, else the file."""
        return next((f"MASTERCLASS_{n.upper()}" for n in names if f"MASTERCLASS_{n.upper()}" in environ), str(file))

    values["base_url"] = str(values["base_url"]).rstrip("/")
    for key, name, url in [("base_url", "base_url", values["base_url"]),
                           *(("lrs_endpoints", f"lrs_endpoints ({e['name']})", e["url"])
                             for e in values["lrs_endpoints"])]:
        problem = _url_problem(url)
        if problem:
            raise SettingsError(f"{where(key)}: {name} {problem}")
    if values["sign_in_attempts_per_account"] <= values["sign_in_attempts"]:
        # Else failures from one address would stop the account's owner signing in from any other.
        raise SettingsError(f"{where('sign_in_attempts_per_account', 'sign_in_attempts')}: "
                            f"sign_in_attempts_per_account ({values['sign_in_attempts_per_account']}) must be more "
                            f"than sign_in_attempts ({values['sign_in_attempts']})")
    values["trusted_proxies"] = _proxies(values["trusted_proxies"], where("trusted_proxies"))
    given = frozenset(s.name for s in SETTINGS if s.name in data or s.env in environ)
    return Settings(values, given)


def served_at(settings: Settings, host: str, port: int) -> str | None:
    """Left at its default, ``base_url`` becomes the address the service is served at, which is where a learner
    on this machine reaches it (join links and xAPI account ids are made from it); returns a warning when that
    cannot be known (a wildcard host: learners come by some name of the machine)."""
    if "base_url" in settings.given:
        return None
    wildcard = host in ("0.0.0.0", "::", "")  # noqa: S104  # recognised, not bound to
    shown = "127.0.0.1" if wildcard else f"[{host}]" if ":" in host else host
    settings.values["base_url"] = f"http://{shown}:{port}"
    if wildcard:
        return (f"base_url is not set: links learners share, and their ids in xAPI statements, use "
                f"{settings.values['base_url']}; set it to the address learners use (docs/settings.md)")
    return None


WIDEST_PROXY_NETWORK = {4: 16, 6: 48}
"""The shortest prefix a trusted proxy network may have, by IP version. A client inside a trusted network can
write any X-Forwarded-For it likes and be believed; a proxy network is a subnet or two, and a wider one would
take in learners' own addresses too."""


def _proxies(entries: list[str], where: str) -> list[str]:
    """Each proxy as an address or a network in its plain form: uvicorn takes anything it cannot read for a name
    to compare with, so a mistake there would trust nobody, without a word."""
    out = []
    for entry in entries:
        text = entry.strip()
        try:
            network = ipaddress.ip_network(text)  # strict: 10.1.2.3/8 is a mistake, not 10.0.0.0/8
        except ValueError:
            raise SettingsError(f"{where}: trusted_proxies must list the proxies' addresses, like 127.0.0.1, or "
                                f"their network, like 10.20.0.0/24, not {text!r}") from None
        if network.prefixlen < WIDEST_PROXY_NETWORK[network.version]:
            raise SettingsError(f"{where}: trusted_proxies: {text} is wider than a proxy network (at most "
                                f"/{WIDEST_PROXY_NETWORK[network.version]}): whoever is inside it could choose "
                                "their own address")
        out.append(str(network.network_address) if "/" not in text else str(network))
    return out


def _url_problem(url: str) -> str | None:
    """What is wrong with a service address, or None: http or https, a host, a port that can be."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return f"has a port that cannot be: {url!r}"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"must be an http or https address, like https://learn.example.gov.uk, not {url!r}"
    return None if port is None or port > 0 else f"has a port that cannot be: {url!r}"
