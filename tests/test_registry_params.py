"""``name[key=value,...]`` on the command line: parsing, validation, job keys and labels."""
from __future__ import annotations

import re

import pytest

from benchmark.errors import UsageError
from benchmark.validate import methods as validate_methods
from methods.registry import MethodSpec, format_value, parse_methods, parse_spec, parse_value


def test_params_parse_as_json_where_possible():
    spec = parse_spec("mpcl[epochs=60,d=64,scales=[1,2.5],fusion=sum,hsc_slots=null,head=\"pool\"]")
    assert spec == MethodSpec("mpcl", "", {"epochs": 60, "d": 64, "scales": [1, 2.5],
                                           "fusion": "sum", "hsc_slots": None, "head": "pool"})
    assert isinstance(spec.params["epochs"], int) and spec.params["scales"][1] == 2.5
    built = spec.build("smoke", random_state=0)
    assert (built.epochs, built.d, built.fusion, built.hsc_slots) == (60, 64, "sum", None)


def test_variant_and_params_combine_in_one_bracket():
    spec = parse_spec("mpcl[w/o PRD,epochs=60]")
    assert (spec.variant, spec.params) == ("w/o PRD", {"epochs": 60})
    built = spec.build("smoke")
    assert built.lambda_prd == 0.0 and built.epochs == 60
    with pytest.raises(KeyError, match="variant 'w/o PRD' sets lambda_prd"):
        parse_spec("mpcl[w/o PRD,lambda_prd=0.5]")
    with pytest.raises(KeyError, match="besides 'w/o PRD'"):
        parse_spec("mpcl[w/o PRD,w/o PCL]")


def test_unknown_keys_list_the_valid_parameters():
    with pytest.raises(KeyError, match=r"'kk' is not a parameter.*valid parameters: k, metric"):
        parse_spec("aa-knn[kk=3]")
    with pytest.raises(KeyError, match="set per job from --seeds"):
        parse_spec("aa-knn[random_state=3]")
    with pytest.raises(UsageError, match=r"--methods: aa-knn\[kk=...\].*valid parameters: k, metric"):
        validate_methods("prior,aa-knn[kk=3]")


def test_labels_round_trip_and_columns_show_the_values():
    for text in ["aa-knn", "mpcl[w/o PRD]", "aa-knn[k=7]", "mpcl[w/o PRD,epochs=60,scales=[1,2]]",
                 "mpcl[fusion=sum]"]:
        spec = parse_spec(text)
        assert parse_spec(spec.label) == spec, text
    # a string that reads as JSON keeps its quotes (no declared parameter takes "1" any more)
    assert format_value("1") == '"1"' and parse_value(format_value("1")) == "1"
    assert parse_spec("aa-knn[k=7]").display == "AA-KNN (k=7)"
    assert parse_spec("mpcl[w/o PRD,epochs=60,d=64]").display == "MPCL w/o PRD (epochs=60, d=64)"
    assert parse_spec("mpcl[w/o PRD]").display == "MPCL w/o PRD"


def test_params_split_the_list_and_keep_the_job_apart():
    specs = parse_methods("prior,aa-knn[k=3],aa-knn[k=5],mpcl[scales=[1,2],d=32]")
    assert [s.label for s in specs] == ["prior", "aa-knn[k=3]", "aa-knn[k=5]", "mpcl[scales=[1,2],d=32]"]
    assert validate_methods("aa-knn[k=3],aa-knn[k=5]") == specs[1:3]
    with pytest.raises(UsageError, match="listed twice"):
        validate_methods("aa-knn[k=3],aa-knn[k=3]")


@pytest.mark.parametrize("text, culprit", [
    ("mpcl[epochs=-5]", "epochs"), ("mpcl[lr=0]", "lr"), ("mpcl[lr=\"fast\"]", "lr"),
    ("mpcl[batch_size=2.5]", "batch_size"), ("mpcl[device=tpu]", "device"),
])
def test_a_value_outside_the_declared_constraint_is_refused_when_parsed(text, culprit):
    with pytest.raises(KeyError, match=rf"{re.escape(text)}: parameter {culprit}=.* {culprit} takes"):
        parse_spec(text)


@pytest.mark.parametrize("name, params", [
    ("maet", {"epochs": -5}), ("cad", {"loss_form": "l2"}), ("tlr-dl", {"o_init": "ones"}),
    ("sa-cpnn", {"optimizer": "adam"}), ("mpcl", {"head": "mlp"}), ("aa-knn", {"k": 0}),
])
def test_fit_checks_the_declared_constraints_as_the_parser_does(name, params):
    """Constraints are checked where scikit-learn checks them, at ``fit``, as well as when a
    spec is parsed: the same parameter, value and accepted values are named by both."""
    from core.params import ParameterError
    from methods.checks import conformance_split
    from methods.registry import method_classes

    text = f"{name}[{','.join(f'{k}={v}' for k, v in params.items())}]"
    with pytest.raises(KeyError) as parsed:
        parse_spec(text)
    culprit = str(parsed.value.args[0]).split(": ", 1)[1]  # "parameter k=v is not accepted; ..."
    train, val, _ = conformance_split()
    with pytest.raises(ParameterError) as fitted:
        method_classes()[name](**params).fit(train, val)
    assert str(fitted.value).endswith(culprit)
