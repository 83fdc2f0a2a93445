"""factory_boy factories for the database side of the tests: practices, locations, payers, the payers a practice
bills, payer rules (versions), code-set releases with their rows, draft claims with lines, users with roles.

Each factory makes a valid row with the fewest facts; a test names what it is about::

    practice = PracticeFactory(key="other")
    user = UserFactory(roles=[BILLING_STAFF], practices=[practice])
    claim = DraftClaimFactory(practice=practice, payer=Payer.objects.get(key="medicare"), lines=[{"code": "0275T"}])
    ReleaseFactory(kind=k.ICD10CM, rows=[("M48062", True, "Spinal stenosis...")])

Valid NPIs (Luhn with the 80840 prefix) used across the suite: 1234567893, 1000000004.
"""

from __future__ import annotations

from datetime import date

import factory
from django.conf import settings
from factory.django import DjangoModelFactory

from codes import snapshot as k

PASSWORD = "pw"  # noqa: S105 (test users only)


class PracticeFactory(DjangoModelFactory):
    class Meta:
        model = "practice.Practice"
        django_get_or_create = ("key",)

    key = factory.Sequence(lambda n: f"practice-{n}")
    name = factory.LazyAttribute(lambda o: f"Practice {o.key}")
    npi = "1234567893"


class LocationFactory(DjangoModelFactory):
    """An ambulatory surgical center in Alabama (Jurisdiction J: MAC 10112, locality 00)."""

    class Meta:
        model = "practice.Location"

    practice = factory.SubFactory(PracticeFactory)
    name = factory.Sequence(lambda n: f"ASC {n}")
    place_of_service = "24"
    mac = "10112"
    locality = "00"
    state = "AL"


class PayerFactory(DjangoModelFactory):
    class Meta:
        model = "practice.Payer"
        django_get_or_create = ("key",)

    key = factory.Sequence(lambda n: f"payer-{n}")
    name = factory.LazyAttribute(lambda o: f"Payer {o.key}")
    payer_type = "commercial"


class PracticePayerFactory(DjangoModelFactory):
    class Meta:
        model = "practice.PracticePayer"

    practice = factory.SubFactory(PracticeFactory)
    payer = factory.SubFactory(PayerFactory)


class PayerRuleFactory(DjangoModelFactory):
    """One version of a payer's rule (``key`` names the rule across its versions), for every practice."""

    class Meta:
        model = "practice.PayerRule"

    payer = factory.SubFactory(PayerFactory)
    key = factory.Sequence(lambda n: f"rule-{n}")
    name = factory.LazyAttribute(lambda o: f"Rule {o.key}")
    version = 1
    effective_from = date(2026, 1, 1)
    codes = factory.LazyFunction(lambda: ["0275T"])
    coverage = "covered"


class ReleaseFactory(DjangoModelFactory):
    """A loaded code-set release; ``rows``: tuples in the loader's column order for the kind
    (``codes.loading.SPECS[kind].columns``: ICD-10-CM code, billable, description...), trailing columns left out
    take the model's defaults."""

    class Meta:
        model = "codes.Release"

    kind = k.ICD10CM
    label = factory.Sequence(lambda n: f"Release {n} (test data)")
    effective_from = date(2026, 1, 1)
    status = "loaded"
    sha256 = factory.Sequence(lambda n: f"test-{n}")

    @factory.post_generation
    def rows(release, create, rows, **kwargs):
        if not rows:
            return
        from codes import kinds

        spec = kinds.get(release.kind)
        model = spec.model_class
        model.objects.bulk_create(model(release=release, **dict(zip(spec.columns, row, strict=False))) for row in rows)
        release.row_count = len(rows)
        release.save(update_fields=["row_count"])


class DraftClaimFactory(DjangoModelFactory):
    """A draft claim for an ASC (place of service 24); ``lines``: dicts of ``ClaimLine`` fields, numbered in
    order (code required; one unit, pointing to the first diagnosis, unless said)."""

    class Meta:
        model = "billing.DraftClaim"

    practice = factory.SubFactory(PracticeFactory)
    payer = factory.SubFactory(PayerFactory)
    place_of_service = "24"
    date_of_service = date(2026, 5, 4)

    @factory.post_generation
    def lines(claim, create, lines, **kwargs):
        for number, line in enumerate(lines or (), 1):
            claim.lines.create(**{"number": number, "units": 1, "diagnosis_pointers": [1], **line})


class UserFactory(DjangoModelFactory):
    """A staff user (password ``pw``); ``roles``: group names (config.roles), ``practices``: memberships."""

    class Meta:
        model = settings.AUTH_USER_MODEL
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    is_staff = True
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def roles(user, create, roles, **kwargs):
        from django.contrib.auth.models import Group

        for name in roles or ():
            user.groups.add(Group.objects.get(name=name))

    @factory.post_generation
    def practices(user, create, practices, **kwargs):
        from practice.models import PracticeMembership

        for practice in practices or ():
            PracticeMembership.objects.create(user=user, practice=practice)
