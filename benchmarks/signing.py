"""What DKIM signing costs per email, on real digests: the MIME bytes with and without a signature.

    python -m benchmarks.signing [--emails 500] [--bits 2048]    (needs a planned slot in the database;
                                                                  benchmarks.delivery calls it after its run)

The emails are built the way a worker builds them (``digest_email_build`` from stored rows, then
``digest_message_build``); the clock covers only ``mime_bytes()``, once unsigned (the baseline, same
run) and once signed with a fresh RSA key of ``--bits``. Best of 3 passes, per CPU-second of this
process. Also printed: OpenSSL's own time for one RSA signature of that size, the floor no signer in
any language can go under.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def signing_cost(*, emails: int = 500, bits: int = 2048, passes: int = 3) -> dict[str, float]:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa
    from django.conf import settings
    from django.test.utils import override_settings

    from digest.content import content_paper_ids, digest_email_build
    from digest.email import digest_message_build
    from digest.email.dkim import dkim_signer_for
    from digest.models import Delivery
    from digest.selectors.delivery import interests_by_subscription
    from digest.selectors.papers import papers_visible_by_id

    rows = list(Delivery.objects.exclude(content=[]).select_related("subscription").order_by("id")[:emails])
    if not rows:
        raise SystemExit("no planned digest with content in this database: run benchmarks.delivery first")
    papers = papers_visible_by_id(paper_ids={pid for d in rows for pid in content_paper_ids(d.content)})
    interests = interests_by_subscription(subscription_ids={d.subscription_id for d in rows})
    messages = [
        digest_message_build(
            digest_email_build(delivery=d, papers=papers, interests=interests.get(d.subscription_id, ()))
        )
        for d in rows
    ]
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "dkim.pem"
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )

        def best(**dkim: str) -> float:
            with override_settings(**dkim):
                dkim_signer_for.cache_clear()
                times = []
                for _ in range(passes):
                    start = time.process_time()
                    for message in messages:
                        message.mime_bytes()
                    times.append(time.process_time() - start)
            return min(times) / len(messages)

        plain = best(PAPERBOY_DKIM_DOMAIN="")
        signed = best(
            PAPERBOY_DKIM_DOMAIN=settings.SITE_DOMAIN or "example.org",
            PAPERBOY_DKIM_SELECTOR="bench",
            PAPERBOY_DKIM_PRIVATE_KEY_FILE=str(path),
        )
        dkim_signer_for.cache_clear()
    start = time.process_time()
    for _ in range(200):
        key.sign(b"x" * 64, padding.PKCS1v15(), hashes.SHA256())
    rsa_floor = (time.process_time() - start) / 200
    return {
        "emails": len(messages),
        "bits": bits,
        "mime_ms": plain * 1000,
        "mime_signed_ms": signed * 1000,
        "sign_ms": (signed - plain) * 1000,
        "rsa_sign_ms": rsa_floor * 1000,
        "bytes": sum(len(m.mime_bytes()) for m in messages[:50]) / min(50, len(messages)),
    }


def dkim_env(folder: Path) -> dict[str, str]:
    """PAPERBOY_DKIM_* for the workers, with a fresh 2048-bit key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    path = folder / "dkim.pem"
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return {
        "PAPERBOY_DKIM_DOMAIN": "example.org",
        "PAPERBOY_DKIM_SELECTOR": "bench",
        "PAPERBOY_DKIM_PRIVATE_KEY_FILE": str(path),
    }


def signing_line(cost: dict[str, float]) -> str:
    return (
        f"DKIM signing ({cost['bits']}-bit RSA, {cost['emails']} real digests of {cost['bytes'] / 1024:.0f} KiB): "
        f"{cost['sign_ms']:.3f} ms per email (MIME bytes {cost['mime_ms']:.3f} ms unsigned vs "
        f"{cost['mime_signed_ms']:.3f} ms signed, per CPU); one RSA signature alone {cost['rsa_sign_ms']:.3f} ms"
    )


def main() -> None:
    import django

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--emails", type=int, default=500)
    parser.add_argument("--bits", type=int, default=2048)
    args = parser.parse_args()
    django.setup()
    print(signing_line(signing_cost(emails=args.emails, bits=args.bits)))


if __name__ == "__main__":
    main()
