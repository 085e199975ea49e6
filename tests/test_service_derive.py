"""One applicant, one answer: the service derives a raw application's inputs as the model file says.

A model fitted with the Lending Club profile declares its inputs: raw fields (income,
debt-to-income, amount, rate, term, earliest credit line, application date) and the derivation of
``installment``, ``nth``, ``nth_ratio`` and ``credit_age_months``. An origination system sends the
raw fields; the HTTP single path, the HTTP batch path and ``model.predict_one`` must score such an
application identically. With finances and a loan, the NTH the model reads is the NTH the decision
shows (the finances completed by the policy, stored with the decision). A raw value the derivation
refuses is a 422 naming the field, never a 500, and nothing is stored.
"""

from __future__ import annotations

import copy
import datetime as dt
import math

import pytest

import lendscore
from lendscore.data import get_profile, load_bundled, prepare
from lendscore.data.derivation import application_frame
from lendscore.monitoring import Registry
from lendscore.service import create_app, load_settings
from lendscore.service.testing import RAW_DERIVED, demo_keys, test_client, write_settings

T0 = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
PROFILE = "lending_club_2007_2011"


@pytest.fixture(scope="module")
def lc(tmp_path_factory):
    raw = load_bundled("lending_club")
    profile = get_profile(PROFILE)
    X, y, t, _ = prepare(raw, profile)
    train = (t < "2011-01-01").to_numpy()
    tmp = tmp_path_factory.mktemp("derive")
    path = tmp / "model.json"
    lendscore.Scorecard().fit(X[train], y.to_numpy()[train], inputs=profile).save(path)
    window = ((t >= "2010-01-01") & (t < "2011-01-01")).to_numpy()  # a challenger: 2010 only, same profile
    challenger = tmp / "challenger.json"
    lendscore.Scorecard(max_rules=0).fit(X[window], y.to_numpy()[window], inputs=profile).save(challenger)
    rows = X.index[~train][::97][:40]  # 2011 applications, spread over the year
    apps = [_raw_applicant(raw.loc[i], X.columns) for i in rows]
    # the demo model does not select the (weak) credit age: a model of it alone shows how it is dated
    age = tmp / "age.json"
    lendscore.Scorecard(iv_min=0.0).fit(X.loc[train, ["credit_age_months"]], y.to_numpy()[train], inputs=profile).save(
        age
    )
    return lendscore.load(path), path, challenger, apps, age


def _raw_applicant(row, prepared_columns) -> dict:
    """The application as sent: the prepared values of the fields a person is asked for, dates as
    ISO text, and none of the derived fields (installment included: the model computes it)."""
    out = {}
    for k in [c for c in prepared_columns if c not in RAW_DERIVED] + ["issue_d", "earliest_cr_line"]:
        v = row[k]
        if k in ("issue_d", "earliest_cr_line"):
            out[k] = None if v is None or v != v else str(v)[:10]
        else:
            out[k] = None if isinstance(v, float) and math.isnan(v) else (v if isinstance(v, str) else float(v))
    return out


def _finances(app: dict, i: int) -> dict:
    income = (app["annual_inc"] or 48_000.0) / 12.0
    return {
        "finances": {"gross_income": round(income, 2), "existing_obligations": round(0.05 * (i % 5) * income, 2)},
        "loan": {"amount": app["loan_amnt"] or 10_000.0, "annual_rate": 0.13, "term_months": int(app["term"] or 36)},
    }


@pytest.fixture
def served(lc, tmp_path):
    model, path, _, _, _ = lc
    keys = demo_keys()
    settings = load_settings(
        write_settings(tmp_path / "s.toml", model=path, audit_url="memory://", keys=keys), environ={}
    )
    app = create_app(settings, clock=lambda: T0)
    with test_client(app) as c:
        c.headers.update({"X-API-Key": keys["scorer"]})
        yield c, app.state.service


def test_raw_applications_score_identically_through_every_door(lc, served):
    model, _, _, apps, _ = lc
    c, state = served
    assert all(k not in a for a in apps for k in RAW_DERIVED)
    singles = []
    for a in apps:
        r = c.post("/v1/decisions", json={"applicant": a})
        assert r.status_code == 200, r.text
        singles.append(r.json())
    r = c.post("/v1/decisions/batch", json={"applications": [{"applicant": a} for a in apps]})
    assert r.status_code == 200, r.text
    batch = r.json()["decisions"]
    direct = [model.predict_one(a) for a in apps]
    frame = model.score_details(application_frame(model.inputs_, apps))  # a raw frame derives too
    for one, many, ref, pd_ in zip(singles, batch, direct, frame["pd"], strict=True):
        assert one["pd"] == pytest.approx(ref["pd"], rel=0, abs=1e-9)
        assert many["pd"] == pytest.approx(ref["pd"], rel=0, abs=1e-9)
        assert pd_ == pytest.approx(ref["pd"], rel=0, abs=1e-9)
        assert one["score"] == many["score"] == pytest.approx(ref["score"], rel=0, abs=1e-9)
        assert one["points"] == many["points"] == ref["points"]
        assert one["warnings"] == many["warnings"] == ref["warnings"]
        assert one["affordability"] is None  # no finances: the model's NTH came from the raw fields
    # the derivation did the work: NTH and credit age scored from raw fields, not as missing
    missing = {c: model.predict_one({})["points"][c] for c in ("nth", "credit_age_months") if c in ref["points"]}
    assert missing and any(d["points"][c] != p for d in singles for c, p in missing.items())
    assert any(d["warnings"] for d in singles)  # some 2011 values lie outside the 2007-2010 training range
    # the stored applications are the raw ones
    stored = state.store.get_decision(singles[0]["decision_id"])
    assert stored.inputs["applicant"]["issue_d"] == apps[0]["issue_d"] and stored.inputs["applicant"]["nth"] is None


def test_the_nth_the_model_used_is_the_nth_the_decision_shows(lc, served):
    model, _, _, apps, _ = lc
    c, state = served
    bodies = [{"applicant": a, **_finances(a, i)} for i, a in enumerate(apps[:15])]
    singles = [c.post("/v1/decisions", json=b).json() for b in bodies]
    batch = c.post("/v1/decisions/batch", json={"applications": bodies}).json()["decisions"]
    for body, one, many in zip(bodies, singles, batch, strict=True):
        assert one["affordability"]["nth"] == many["affordability"]["nth"]
        assert {k: v for k, v in one.items() if k not in ("decision_id", "request_id", "pd")} == {
            k: v for k, v in many.items() if k not in ("decision_id", "request_id", "pd")
        }
        for d in (one, many):
            rec = state.store.get_decision(d["decision_id"])
            application = {**rec.inputs["applicant"], "finances": rec.inputs["finances"], "loan": rec.inputs["loan"]}
            assert rec.inputs["finances"]["deductions"] == pytest.approx(0.2 * body["finances"]["gross_income"])
            derived = model.derive(application_frame(model.inputs_, [application]), decision_date=rec.created_at.date())
            assert derived.loc[0, "nth"] == d["affordability"]["nth"]
            assert derived.loc[0, "nth_ratio"] == pytest.approx(d["affordability"]["nth_share"], rel=1e-12)
            again = model.predict_one(application, decision_date=rec.created_at.date())
            assert again["score"] == d["score"] and again["points"] == d["points"]
    # the finances, not the raw income and debt-to-income, gave the NTH: scoring without them differs
    plain = [model.predict_one(b["applicant"]) for b in bodies]
    assert any(p["points"]["nth"] != d["points"]["nth"] for p, d in zip(plain, singles, strict=True))


def test_an_application_without_its_date_is_dated_by_the_decision_day(lc, tmp_path):
    """No ``issue_d``: the credit age runs to the decision's day (the service's clock), on both paths."""
    _, _, _, apps, age_path = lc
    model = lendscore.load(age_path)
    assert model.characteristics_ == ["credit_age_months"]
    keys = demo_keys()
    settings = load_settings(
        write_settings(tmp_path / "s.toml", model=age_path, audit_url="memory://", keys=keys), environ={}
    )
    undated = [{k: v for k, v in a.items() if k in model.inputs_.names and k != "issue_d"} for a in apps]
    later = dt.date(T0.year + 8, 6, 1)
    assert any(
        model.predict_one(a, decision_date=T0.date())["score"] != model.predict_one(a, decision_date=later)["score"]
        for a in undated
    )  # the day matters to these applications
    with test_client(create_app(settings, clock=lambda: T0)) as c:
        c.headers.update({"X-API-Key": keys["scorer"]})
        singles = [c.post("/v1/decisions", json={"applicant": a}).json() for a in undated]
        batch = c.post("/v1/decisions/batch", json={"applications": [{"applicant": a} for a in undated]}).json()
    for a, one, many in zip(undated, singles, batch["decisions"], strict=True):
        ref = model.predict_one(a, decision_date=T0.date())  # the service's clock, not today
        assert one["score"] == many["score"] == ref["score"] and one["points"] == many["points"] == ref["points"]
        assert one["warnings"] == many["warnings"] == ref["warnings"]
    months = model.derive(application_frame(model.inputs_, undated[:1]), decision_date=T0.date())
    first = dt.date.fromisoformat(undated[0]["earliest_cr_line"])
    assert months.loc[0, "credit_age_months"] == (T0.year - first.year) * 12 + T0.month - first.month - (
        T0.day < first.day
    )


def _refusals():
    return [
        ({"issue_d": "2011-13-45"}, "applicant.issue_d", "date_from_datetime_parsing"),
        (
            {"earliest_cr_line": "2012-01-01", "issue_d": "2011-06-01"},
            "applicant.earliest_cr_line",
            "must not be after the application date (issue_d)",
        ),
        (
            {"earliest_cr_line": "2031-01-01", "issue_d": None},
            "applicant.earliest_cr_line",
            "must not be after the application date (issue_d)",
        ),  # after the decision day
        ({"annual_inc": -5.0}, "applicant.annual_inc", "greater_than_equal"),
    ]


@pytest.mark.parametrize(("change", "field", "rule"), _refusals())
def test_a_refused_raw_value_is_a_422_naming_the_field(lc, served, change, field, rule):
    _, _, _, apps, _ = lc
    c, state = served
    bad = {**apps[3], **change}
    r = c.post("/v1/decisions", json={"applicant": bad, **_finances(apps[3], 3)})
    assert r.status_code == 422, r.text
    errors = [{"field": e["field"], "rule": e["rule"]} for e in r.json()["errors"]]
    assert errors == [{"field": field, "rule": rule}]
    assert r.json()["request_id"] == r.headers["x-request-id"] and "Traceback" not in r.text
    batch = [{"applicant": a} for a in apps[:6]]
    batch[4] = {"applicant": bad}
    batch[5] = {"applicant": copy.deepcopy(bad)}  # the first refused row is named
    r = c.post("/v1/decisions/batch", json={"applications": batch})
    assert r.status_code == 422, r.text
    assert [{"field": e["field"], "rule": e["rule"]} for e in r.json()["errors"]][0] == {
        "field": field.replace("applicant.", "applications.4.applicant.", 1),
        "rule": rule,
    }
    assert len(state.store.decisions_frame()) == 0


def test_the_challenger_is_shadow_scored_on_the_same_application(lc, tmp_path):
    model, path, challenger_path, apps, _ = lc
    reg = Registry(tmp_path / "reg", clock=lambda: "2026-03-01T00:00:00+00:00")
    reg.register(path, version="v1", by="test", why="champion")
    reg.promote("v1", by="test", why="go live")
    reg.register(challenger_path, version="v2", by="test", why="2010 only")
    keys = demo_keys()
    settings = load_settings(
        write_settings(
            tmp_path / "s.toml", model=None, audit_url="memory://", keys=keys, registry_dir=str(tmp_path / "reg")
        ),
        environ={},
    )
    app = create_app(settings, clock=lambda: T0)
    challenger = lendscore.load(challenger_path)
    bodies = [{"applicant": {**a, "issue_d": None} if i % 2 else a, **_finances(a, i)} for i, a in enumerate(apps[:8])]
    with test_client(app) as c:
        c.headers.update({"X-API-Key": keys["scorer"]})
        ids = [c.post("/v1/decisions", json=b).json()["decision_id"] for b in bodies]
        ids += [
            d["decision_id"] for d in c.post("/v1/decisions/batch", json={"applications": bodies}).json()["decisions"]
        ]
        store = app.state.service.store
        shadow = store.shadow_frame().set_index("decision_id")
        assert len(shadow) == 16
        differ = 0
        for decision_id, body in zip(ids, bodies + bodies, strict=True):
            rec = store.get_decision(decision_id)
            application = {**rec.inputs["applicant"], "finances": rec.inputs["finances"], "loan": rec.inputs["loan"]}
            ref = challenger.predict_one(application, decision_date=T0.date())
            assert shadow.loc[decision_id, "score"] == pytest.approx(ref["score"], rel=0, abs=1e-9)
            assert shadow.loc[decision_id, "pd"] == pytest.approx(ref["pd"], rel=0, abs=1e-9)
            alone = challenger.predict_one(body["applicant"], decision_date=T0.date())
            differ += shadow.loc[decision_id, "score"] != pytest.approx(alone["score"], rel=0, abs=1e-9)
        assert differ > 0  # not the applicant's fields alone: the finances gave the challenger its NTH too
