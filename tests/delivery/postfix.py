"""A private Debian Postfix for tests: its own config, queue and Maildir in a temporary folder,
listening on a free loopback port, delivering every recipient into one Maildir. Nothing leaves
the machine: there is no ``smtp`` transport in its master.cf at all.

It behaves as a production relay does where it matters to Paperboy: ``smtpd_helo_required=yes``
with ``reject_non_fqdn_helo_hostname`` (and ``smtpd_delay_reject=yes``, Postfix's default, so a
refused HELO or sender is reported at RCPT), ENHANCEDSTATUSCODES, 8BITMIME, SMTPUTF8, SIZE. It can
also be told to refuse the envelope sender, as a relay refusing an unauthorised domain does.
"""

from __future__ import annotations

import mailbox
import os
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

POSTFIX = "/usr/sbin/postfix"
SENDER_REFUSAL = "Sender domain is not authorised by policy"

MASTER_CF = """\
127.0.0.1:{port} inet n - n - - smtpd
pickup    unix  n - n 60   1 pickup
cleanup   unix  n - n -    0 cleanup
qmgr      unix  n - n 300  1 qmgr
rewrite   unix  - - n -    - trivial-rewrite
bounce    unix  - - n -    0 bounce
defer     unix  - - n -    0 bounce
trace     unix  - - n -    0 bounce
verify    unix  - - n -    1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -    - proxymap
showq     unix  n - n -    - showq
error     unix  - - n -    - error
retry     unix  - - n -    - error
discard   unix  - - n -    - discard
virtual   unix  - n n -    - virtual
anvil     unix  - - n -    1 anvil
scache    unix  - - n -    1 scache
postlog   unix-dgram n - n - 1 postlogd
"""


@dataclass
class Postfix:
    """One running instance; ``stop()`` shuts it down and leaves its folder for the test to read."""

    root: Path  # a folder of its own (not under pytest's tmp_path: that one is private to root)
    port: int
    refuse_sender: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def config(self) -> Path:
        return self.root / "etc"

    @property
    def maildir(self) -> Path:
        return self.root / "mail" / "inbox"

    @property
    def log(self) -> Path:
        return self.root / "maillog"

    def main_cf(self) -> dict[str, str]:
        owner = pwd.getpwnam("nobody")
        values = {
            "compatibility_level": "3.6",
            "queue_directory": str(self.root / "spool"),
            "data_directory": str(self.root / "data"),
            "maillog_file": str(self.log),
            "maillog_file_prefixes": str(self.root),
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "myhostname": "relay.paperboy.test",
            "mydomain": "paperboy.test",
            "myorigin": "$myhostname",
            "mydestination": "",
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            # The relay's checks of its clients, as on a production relay.
            "smtpd_helo_required": "yes",
            "smtpd_helo_restrictions": "reject_invalid_helo_hostname, reject_non_fqdn_helo_hostname",
            "smtpd_sender_restrictions": (
                f"check_sender_access static:{{REJECT {SENDER_REFUSAL}}}" if self.refuse_sender else ""
            ),
            "smtpd_relay_restrictions": "permit_mynetworks, reject_unauth_destination",
            "smtpd_delay_reject": "yes",
            # Every recipient of every domain goes to one Maildir, by virtual(8); nothing is relayed.
            "default_transport": "virtual",
            "relay_transport": "virtual",
            "virtual_mailbox_base": str(self.root / "mail"),
            "virtual_mailbox_maps": "static:inbox/",
            "virtual_uid_maps": f"static:{owner.pw_uid}",
            "virtual_gid_maps": f"static:{owner.pw_gid}",
            "virtual_minimum_uid": "1",
            "virtual_mailbox_limit": "0",
            "message_size_limit": "10240000",
            "smtputf8_enable": "yes",
            "biff": "no",
            "append_dot_mydomain": "no",
            "alias_maps": "",
            "alias_database": "",
            "local_recipient_maps": "",
            "disable_dns_lookups": "yes",
            "smtp_dns_support_level": "disabled",
            **self.extra,
        }
        return values

    def start(self) -> None:
        # Postfix's master opens its lock file as the postfix user, who must be able to walk to it.
        self.root.chmod(0o755)
        owner = pwd.getpwnam("nobody")
        for sub in ("etc", "spool", "data", "mail"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        os.chown(self.root / "mail", owner.pw_uid, owner.pw_gid)
        postfix = pwd.getpwnam("postfix")
        os.chown(self.root / "data", postfix.pw_uid, postfix.pw_gid)
        main = "".join(f"{name} = {value}\n" for name, value in self.main_cf().items())
        (self.config / "main.cf").write_text(main)
        (self.config / "master.cf").write_text(MASTER_CF.format(port=self.port))
        for name in ("dynamicmaps.cf", "postfix-files"):
            shutil.copy(f"/etc/postfix/{name}", self.config / name)
        shutil.copytree("/etc/postfix/dynamicmaps.cf.d", self.config / "dynamicmaps.cf.d", dirs_exist_ok=True)
        shutil.copytree("/etc/postfix/postfix-files.d", self.config / "postfix-files.d", dirs_exist_ok=True)
        self._postfix("start")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                    if conn.recv(100).startswith(b"220"):
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"Postfix did not start on port {self.port}:\n{self.log_text()}")

    def stop(self) -> None:
        self._postfix("stop", check=False)

    def _postfix(self, command: str, *, check: bool = True) -> None:
        done = subprocess.run(
            [POSTFIX, "-c", str(self.config), command], capture_output=True, text=True, timeout=60, check=False
        )
        if check and done.returncode != 0:
            raise RuntimeError(f"postfix {command} failed: {done.stdout}{done.stderr}\n{self.log_text()}")

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else "(no maillog)"

    def delivered(self, *, expected: int, timeout: float = 30.0) -> list[bytes]:
        """The raw messages in the Maildir, once ``expected`` of them arrived (queued mail is delivered
        a moment after the 250)."""
        deadline = time.monotonic() + timeout
        while True:
            new = self.maildir / "new"
            found = sorted(new.iterdir()) if new.is_dir() else []
            if len(found) >= expected or time.monotonic() > deadline:
                return [path.read_bytes() for path in found]
            time.sleep(0.1)

    def messages(self, *, expected: int) -> list[mailbox.MaildirMessage]:
        return [mailbox.MaildirMessage(raw) for raw in self.delivered(expected=expected)]


def postfix_available() -> str | None:
    """Why a private Postfix cannot run here, or None when it can."""
    if not os.path.exists(POSTFIX):
        return "Postfix is not installed (apt-get install -y postfix)"
    if os.geteuid() != 0:
        return "a private Postfix instance needs root (its master process drops privileges itself)"
    return None
