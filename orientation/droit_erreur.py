"""Droit à l'erreur eligibility rules (loi ESSOC du 10 août 2018, CRPA art. L123-1 and L123-2).

Pure functions over stable codes. The output holds codes only (verdict, reasons, conditions,
next step): the bot maps each code to a response in ``domain.yml``; no French sentence is built
here.

The rules, in the order they are checked:

* Blocking reasons (any of them → ``does_not_apply``): fraud, bad faith, repeated error,
  breach of a rule protecting public health, the safety of people or property or the
  environment, breach of European or international commitments, sanction provided by a
  contract, refusal to correct the error, deadline set by the administration missed.
* Otherwise every answer the usager did not know, and every point that the administration
  alone can confirm, becomes a condition (→ ``applies_probably``).
* Nothing left to confirm → ``applies``.

Whatever the verdict, the droit à l'erreur only avoids a sanction: sums wrongly received must
still be repaid and sums owed still paid. The bot always says so.
"""

from __future__ import annotations

from dataclasses import dataclass

# --- input codes ---------------------------------------------------------------------------

ADMINISTRATIONS: tuple[str, ...] = (
    "impots",
    "caf",
    "urssaf",
    "assurance_maladie",
    "france_travail",
    "msa",
    "autre",
)
"""Administration codes; ``autre`` is any other administration (or an unsure one)."""

ERROR_KINDS: tuple[str, ...] = (
    "omission",
    "wrong_amount",
    "late_declaration",
    "missing_document",
    "other",
)
"""Kinds of error: something not declared, a wrong amount or box, a late declaration, a
missing supporting document, anything else."""

EXCEPTION_NONE = "no_exception"
EXCEPTIONS: tuple[str, ...] = (
    EXCEPTION_NONE,
    "fraud",
    "health_safety",
    "international",
    "contract",
)
"""Exception codes; ``no_exception`` means the usager says none applies (``None``: unknown)."""

CORRECTIONS: tuple[str, ...] = ("done", "planned", "deadline_missed", "refused")
"""Where the usager stands with the correction (``None`` means unknown)."""

# --- output codes --------------------------------------------------------------------------

APPLIES = "applies"
APPLIES_PROBABLY = "applies_probably"
DOES_NOT_APPLY = "does_not_apply"
VERDICTS: tuple[str, ...] = (APPLIES, APPLIES_PROBABLY, DOES_NOT_APPLY)

REASONS: tuple[str, ...] = (
    "fraud",
    "bad_faith",
    "repeat",
    "health_safety",
    "international_commitments",
    "contract_sanction",
    "not_corrected",
    "deadline_missed",
)
"""Reasons why the droit à l'erreur does not apply, in the order they are reported."""

CONDITIONS: tuple[str, ...] = (
    "public_administration",
    "error_kind_unclear",
    "late_declaration",
    "first_time",
    "good_faith",
    "exceptions",
    "already_noticed",
    "correction",
    "correct_within_deadline",
    "correct_promptly",
)
"""What remains to be confirmed for an ``applies_probably`` verdict, in reporting order."""

NEXT_STEPS: tuple[str, ...] = (
    "seek_advice",
    "regularize_anyway",
    "keep_proof",
    "answer_within_deadline",
    "contact_administration",
    "correct_now",
)

# Conditions that only the administration itself can settle.
_ASK_ADMINISTRATION = frozenset({"public_administration", "error_kind_unclear", "late_declaration"})

_EXCEPTION_REASONS = {
    "fraud": "fraud",
    "health_safety": "health_safety",
    "international": "international_commitments",
    "contract": "contract_sanction",
}
_CORRECTION_REASONS = {"refused": "not_corrected", "deadline_missed": "deadline_missed"}


@dataclass(frozen=True)
class DroitErreurCase:
    """What the usager told about the error. ``None`` means "I do not know".

    Attributes:
        administration: One of ``ADMINISTRATIONS``.
        error_kind: One of ``ERROR_KINDS``.
        first_time: Whether it is the first time this rule was not respected.
        good_faith: Whether the error was involuntary.
        exception: One of ``EXCEPTIONS`` (``"no_exception"`` when none applies).
        already_noticed: Whether the administration already pointed the error out.
        correction: One of ``CORRECTIONS``.

    """

    administration: str
    error_kind: str
    first_time: bool | None = None
    good_faith: bool | None = None
    exception: str | None = None
    already_noticed: bool | None = None
    correction: str | None = None

    def __post_init__(self) -> None:
        """Reject unknown codes and non-boolean answers.

        Raises:
            ValueError: If a code is not one of the known ones.

        """
        _check_code("administration", self.administration, ADMINISTRATIONS)
        _check_code("error_kind", self.error_kind, ERROR_KINDS)
        if self.exception is not None:
            _check_code("exception", self.exception, EXCEPTIONS)
        if self.correction is not None:
            _check_code("correction", self.correction, CORRECTIONS)
        for field in ("first_time", "good_faith", "already_noticed"):
            value = getattr(self, field)
            if value is not None and not isinstance(value, bool):
                raise ValueError(f"{field} must be True, False or None, got {value!r}")


@dataclass(frozen=True)
class DroitErreurVerdict:
    """The outcome of the check, as codes only.

    Attributes:
        verdict: One of ``VERDICTS``.
        reasons: Codes from ``REASONS`` (non-empty only when the verdict is ``does_not_apply``).
        conditions: Codes from ``CONDITIONS`` (non-empty only for ``applies_probably``).
        next_step: One of ``NEXT_STEPS``.
        administration: The administration code of the case.

    """

    verdict: str
    reasons: tuple[str, ...]
    conditions: tuple[str, ...]
    next_step: str
    administration: str


def _check_code(field: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"unknown {field} {value!r}; expected one of: {', '.join(allowed)}")


def blocking_reasons(case: DroitErreurCase) -> tuple[str, ...]:
    """Return the reasons that rule the droit à l'erreur out, in ``REASONS`` order.

    Unknown answers never block: a reason appears only for an explicit answer.

    Args:
        case: The usager's answers.

    Returns:
        Reason codes; empty when nothing rules the droit à l'erreur out.

    """
    found = set()
    if case.exception in _EXCEPTION_REASONS:
        found.add(_EXCEPTION_REASONS[case.exception])
    if case.good_faith is False:
        found.add("bad_faith")
    if case.first_time is False:
        found.add("repeat")
    if case.correction in _CORRECTION_REASONS:
        found.add(_CORRECTION_REASONS[case.correction])
    return tuple(code for code in REASONS if code in found)


def open_conditions(case: DroitErreurCase) -> tuple[str, ...]:
    """Return what remains to be confirmed before the droit à l'erreur surely applies.

    Args:
        case: The usager's answers.

    Returns:
        Condition codes in ``CONDITIONS`` order; empty when nothing is left to confirm.

    """
    found = set()
    if case.administration == "autre":
        found.add("public_administration")
    if case.error_kind == "other":
        found.add("error_kind_unclear")
    if case.error_kind == "late_declaration":
        # Some deadlines cannot be made good afterwards: the administration must confirm.
        found.add("late_declaration")
    if case.first_time is None:
        found.add("first_time")
    if case.good_faith is None:
        found.add("good_faith")
    if case.exception is None:
        found.add("exceptions")
    if case.already_noticed is None:
        found.add("already_noticed")
    if case.correction is None:
        found.add("correction")
    elif case.correction == "planned":
        found.add("correct_within_deadline" if case.already_noticed else "correct_promptly")
    return tuple(code for code in CONDITIONS if code in found)


def _next_step(case: DroitErreurCase, reasons: tuple[str, ...], conditions: tuple[str, ...]) -> str:
    if reasons:
        return "seek_advice" if "fraud" in reasons else "regularize_anyway"
    if case.correction == "done":
        return "keep_proof"
    if case.already_noticed:
        return "answer_within_deadline"
    if _ASK_ADMINISTRATION.intersection(conditions):
        return "contact_administration"
    return "correct_now"


def evaluate(case: DroitErreurCase) -> DroitErreurVerdict:
    """Decide whether the droit à l'erreur applies to the case.

    Args:
        case: The usager's answers (validated when the case was built).

    Returns:
        The verdict with its reasons, open conditions and next step.

    """
    reasons = blocking_reasons(case)
    if reasons:
        verdict, conditions = DOES_NOT_APPLY, ()
    else:
        conditions = open_conditions(case)
        verdict = APPLIES_PROBABLY if conditions else APPLIES
    return DroitErreurVerdict(
        verdict=verdict,
        reasons=reasons,
        conditions=conditions,
        next_step=_next_step(case, reasons, conditions),
        administration=case.administration,
    )


def tristate(code: str | None) -> bool | None:
    """Convert an answer code (``"yes"``, ``"no"``, ``"unknown"`` or ``None``) to a tri-state.

    Args:
        code: The answer code, as stored in a slot.

    Returns:
        ``True``, ``False`` or ``None`` (unknown).

    Raises:
        ValueError: If the code is not one of the four accepted values.

    """
    if code is None or code == "unknown":
        return None
    if code == "yes":
        return True
    if code == "no":
        return False
    raise ValueError(f"unknown answer {code!r}; expected one of: yes, no, unknown")


def case_from_codes(
    administration: str | None,
    error_kind: str | None,
    first_time: str | None = None,
    good_faith: str | None = None,
    exception: str | None = None,
    already_noticed: str | None = None,
    correction: str | None = None,
) -> DroitErreurCase:
    """Build a case from answer codes as stored in slots.

    Yes/no answers are ``"yes"``, ``"no"`` or ``"unknown"``; ``exception`` and ``correction``
    take their codes or ``"unknown"``; ``None`` always means "not answered / unknown".

    Args:
        administration: One of ``ADMINISTRATIONS``.
        error_kind: One of ``ERROR_KINDS``.
        first_time: Answer code.
        good_faith: Answer code.
        exception: A code of ``EXCEPTIONS``, ``"unknown"`` or ``None``.
        already_noticed: Answer code.
        correction: A code of ``CORRECTIONS``, ``"unknown"`` or ``None``.

    Returns:
        The validated case.

    Raises:
        ValueError: If a code is unknown or a required answer is missing.

    """
    if administration is None or error_kind is None:
        raise ValueError("administration and error_kind are required to check the droit à l'erreur")
    return DroitErreurCase(
        administration=administration,
        error_kind=error_kind,
        first_time=tristate(first_time),
        good_faith=tristate(good_faith),
        exception=None if exception == "unknown" else exception,
        already_noticed=tristate(already_noticed),
        correction=None if correction == "unknown" else correction,
    )
