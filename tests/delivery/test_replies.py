"""The refusal classifier: only a refusal about the recipient's mailbox may suppress an address.

Replies are real ones: Postfix's own wording (with smtpd_delay_reject=yes, the HELO and sender
refusals arrive at RCPT), Exim's, Gmail's and Microsoft's, and bare codes from relays that send no
enhanced status code.
"""

from __future__ import annotations

import pytest

from digest.delivery.replies import (
    Action,
    Cause,
    Phase,
    RepeatWatch,
    dsn_status_suppresses,
    enhanced_code,
    refusal_signature,
    reply_classify,
)

RCPT, DATA, MAIL, CONNECT = Phase.RCPT, Phase.DATA, Phase.MAIL, Phase.CONNECT


@pytest.mark.parametrize(
    ("code", "text", "action", "cause"),
    [
        (
            550,
            "5.1.1 <ann@example.org>: Recipient address rejected: User unknown in local recipient table",
            Action.SUPPRESS,
            Cause.MAILBOX,
        ),
        (
            550,
            "5.1.1 The email account that you tried to reach does not exist. https://support.google.com/",
            Action.SUPPRESS,
            Cause.MAILBOX,
        ),
        (550, "5.1.2 Host unknown", Action.SUPPRESS, Cause.MAILBOX),
        (553, "5.1.3 Bad recipient address syntax", Action.SUPPRESS, Cause.MAILBOX),
        (551, "5.1.6 Recipient has moved", Action.SUPPRESS, Cause.MAILBOX),
        (556, "5.1.10 Recipient address has null MX", Action.SUPPRESS, Cause.MAILBOX),
        (550, "5.2.1 The email account that you tried to reach is disabled.", Action.SUPPRESS, Cause.MAILBOX),
    ],
)
def test_a_permanent_refusal_of_the_mailbox_at_rcpt_suppresses(code, text, action, cause):
    verdict = reply_classify(code=code, text=text, phase=RCPT)
    assert (verdict.action, verdict.cause) == (action, cause)
    assert verdict.suppress and verdict.permanent and not verdict.pauses


@pytest.mark.parametrize(
    ("code", "text", "cause"),
    [
        # Postfix with smtpd_delay_reject=yes: refusals of our HELO, client and sender arrive at RCPT.
        (504, "5.5.2 <localhost>: Helo command rejected: need fully-qualified hostname", Cause.SENDER),
        (
            554,
            "5.7.1 <bounces+9-abc@papers.example.org>: Sender address rejected: Sender domain is not "
            "authorised by policy",
            Cause.SENDER,
        ),
        (554, "5.7.1 <unknown[10.0.0.7]>: Client host rejected: Access denied", Cause.SENDER),
        (553, "5.1.8 <bounces+1-ab@nowhere.invalid>: Sender address rejected: Domain not found", Cause.SENDER),
        (550, "5.1.7 Invalid sender mailbox", Cause.SENDER),
        (554, "5.7.1 <ann@example.org>: Relay access denied", Cause.SENDER),
        (550, "5.7.26 This mail is unauthenticated, which poses a security risk. DMARC policy", Cause.SENDER),
        (550, "5.7.1 Service unavailable; Client host [192.0.2.1] blocked using Spamhaus", Cause.SENDER),
        (550, "5.7.1 Message rejected by policy", Cause.POLICY),
        (554, "5.7.0 Reject, id=12345 - spam", Cause.POLICY),
        (550, "5.5.1 Protocol error", Cause.SYSTEM),
        (554, "5.3.0 Other mail system problem", Cause.SYSTEM),
        (554, "5.4.6 Routing loop detected", Cause.SYSTEM),
    ],
)
def test_a_permanent_refusal_about_us_at_rcpt_pauses_and_never_suppresses(code, text, cause):
    verdict = reply_classify(code=code, text=text, phase=RCPT)
    assert verdict.cause == cause
    assert verdict.action == Action.PAUSE
    assert verdict.permanent and verdict.pauses and not verdict.suppress


@pytest.mark.parametrize(
    ("code", "text"),
    [
        (550, "5.7.1 Sender address rejected: Access denied"),
        (553, "5.1.7 The sender address is not valid"),
        (501, "5.1.7 Bad sender address syntax"),
        (550, "Sender address rejected"),
        (550, "Not allowed"),  # a bare refusal of MAIL FROM cannot be about a recipient not named yet
    ],
)
def test_a_permanent_refusal_at_mail_from_pauses_and_never_suppresses(code, text):
    verdict = reply_classify(code=code, text=text, phase=MAIL)
    assert verdict.action == Action.PAUSE and not verdict.suppress
    assert verdict.cause in {Cause.SENDER, Cause.POLICY}


@pytest.mark.parametrize(
    ("code", "text", "action"),
    [
        (554, "5.7.1 Message refused", Action.PAUSE),  # content/policy filter after DATA: about us
        (550, "5.7.1 [IRR] Our system has detected that this message is likely unsolicited mail", Action.PAUSE),
        (554, "5.6.0 Malformed message", Action.FAIL),  # this message only
        (552, "5.3.4 Message size exceeds fixed limit", Action.FAIL),
        (554, "Transaction failed", Action.FAIL),  # bare 5xx at DATA: the recipient was accepted
        (550, "5.1.1 User unknown", Action.SUPPRESS),  # some MTAs only look the mailbox up after DATA
    ],
)
def test_a_permanent_refusal_at_data_is_about_the_message_unless_its_code_names_the_mailbox(code, text, action):
    verdict = reply_classify(code=code, text=text, phase=DATA)
    assert verdict.action == action
    assert verdict.suppress == (action == Action.SUPPRESS)


@pytest.mark.parametrize("phase", [RCPT, DATA])
def test_a_bare_5xx_without_an_enhanced_code_scores_the_address_but_never_suppresses_at_once(phase):
    verdict = reply_classify(code=550, text="User unknown", phase=RCPT)
    assert verdict.action == Action.SCORE and verdict.enhanced == ""
    assert verdict.permanent and not verdict.suppress and not verdict.pauses
    # The same bare code naming the sending side is about us.
    assert reply_classify(code=550, text="Relaying denied", phase=phase).action == Action.PAUSE
    assert reply_classify(code=504, text="<localhost>: Helo command rejected", phase=phase).action == Action.PAUSE


@pytest.mark.parametrize(
    ("code", "text", "phase"),
    [
        (451, "4.3.0 Try again later", RCPT),
        (450, "4.2.0 <ann@example.org>: Recipient address rejected: Greylisted", RCPT),
        (421, "4.3.2 Service shutting down", RCPT),
        (452, "4.2.2 Insufficient system storage", DATA),
        (451, "Temporary local problem", MAIL),
        (450, "4.7.1 <localhost>: Helo command rejected: Host not found", RCPT),  # temporary, even about us
        (552, "5.2.2 Mailbox full", RCPT),  # fills up and empties again
        (552, "5.2.2 Mailbox full", DATA),
        (552, "Requested mail action aborted: exceeded storage allocation", RCPT),  # RFC 5321 §4.5.3.1.10
        (None, "server disconnected", DATA),
    ],
)
def test_a_temporary_refusal_is_retried_and_never_suppresses(code, text, phase):
    verdict = reply_classify(code=code, text=text, phase=phase)
    assert verdict.action == Action.RETRY
    assert not verdict.permanent and not verdict.suppress and not verdict.pauses


def test_a_refusal_of_the_greeting_or_ehlo_pauses_sending():
    assert reply_classify(code=554, text="5.7.1 No SMTP service here", phase=CONNECT).action == Action.PAUSE
    assert reply_classify(code=502, text="5.5.1 Error: command not implemented", phase=CONNECT).action == Action.PAUSE


def test_the_enhanced_code_is_read_only_from_the_start_of_the_reply():
    assert enhanced_code("5.1.1 <a@b>: User unknown") == "5.1.1"
    assert enhanced_code("5.1.10 null MX") == "5.1.10"
    assert enhanced_code("User 5.1.1 unknown") == ""
    assert enhanced_code("5.1.1.2 odd") == ""
    assert enhanced_code("") == ""


def test_a_dsn_suppresses_only_when_its_status_names_the_mailbox():
    assert dsn_status_suppresses("5.1.1")
    assert dsn_status_suppresses("5.1.10")
    assert not dsn_status_suppresses("5.7.1")  # a later hop refused us as spam
    assert not dsn_status_suppresses("5.4.7")  # delivery time expired
    assert not dsn_status_suppresses("5.2.2")
    assert not dsn_status_suppresses("4.1.1")
    assert not dsn_status_suppresses("")


def test_the_same_refusal_for_many_different_recipients_in_a_row_is_about_us():
    watch = RepeatWatch(limit=3)
    signature = refusal_signature(code=550, text="<ann@example.org>... Not allowed")
    assert signature == refusal_signature(code=550, text="<bob@example.net>... Not allowed")
    assert not watch.refused(signature=signature, recipient="ann@example.org")
    assert not watch.refused(signature=signature, recipient="ANN@example.org")  # the same recipient again
    assert not watch.refused(signature=signature, recipient="bob@example.net")
    assert watch.refused(signature=signature, recipient="cy@example.com")


def test_an_accepted_message_or_a_different_refusal_starts_the_repeat_count_again():
    watch = RepeatWatch(limit=2)
    first = refusal_signature(code=550, text="User unknown")
    assert not watch.refused(signature=first, recipient="a@example.org")
    watch.success()
    assert not watch.refused(signature=first, recipient="b@example.org")
    assert not watch.refused(signature=refusal_signature(code=550, text="No mailbox"), recipient="c@example.org")
    assert not watch.refused(signature=first, recipient="d@example.org")
    assert RepeatWatch(limit=0).refused(signature=first, recipient="e@example.org") is False
