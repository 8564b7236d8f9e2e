"""Config validation: one error per bad field, naming the field and its allowed range; round trips."""
import pytest

from workbench.config import ConfigErrors, RunConfig, config_from_query, load_config_file


def errors_of(values):
    with pytest.raises(ConfigErrors) as caught:
        RunConfig.from_dict(values)
    return {error.field: str(error) for error in caught.value.errors}


def test_defaults_are_valid():
    config = RunConfig.from_dict({})
    assert config.method == "kd" and config.teacher == "cnn"


@pytest.mark.parametrize("field,value,phrase", [
    ("temperature", 0, "greater than 0"),
    ("temperature", -3, "greater than 0"),
    ("alpha", 1.5, "at most 1"),
    ("alpha", -0.1, "at least 0"),
    ("epochs", 0, "at least 1"),
    ("epochs", "two", "not a valid int"),
    ("method", "magic", "one of"),
    ("dataset", "imagenet", "one of"),
    ("student", "vgg99", "one of"),
    ("lr", float("nan"), "not a valid float"),
])
def test_bad_field_is_named_with_what_is_allowed(field, value, phrase):
    errors = errors_of({field: value})
    assert list(errors) == [field]
    assert phrase in errors[field] and errors[field].startswith(field)


def test_every_bad_field_is_reported_once():
    errors = errors_of({"temperature": 0, "alpha": 2, "epochs": 0})
    assert set(errors) == {"temperature", "alpha", "epochs"}


def test_unknown_field_is_reported():
    assert "unknown field" in errors_of({"temprature": 4})["temprature"]


def test_method_params_are_checked_against_the_method():
    config = RunConfig.from_dict({"method": "tfkd", "method_params": {"correct_prob": "0.95"}})
    assert config.method_params == {"correct_prob": 0.95}
    with pytest.raises(Exception, match="tfkd.correct_prob"):
        RunConfig.from_dict({"method": "tfkd", "method_params": {"correct_prob": 2}})
    with pytest.raises(Exception, match="not a hyperparameter of method 'kd'"):
        RunConfig.from_dict({"method": "kd", "method_params": {"correct_prob": 0.9}})


def test_query_params_round_trip():
    config = RunConfig.from_dict({"temperature": 8, "alpha": 0.5, "teachers": "cnn,mlp", "method": "tfkd",
                                  "method_params": {"correct_prob": 0.8}, "compile": True})
    restored, notices = config_from_query(config.query_params())
    assert notices == [] and restored == config


def test_invalid_query_values_are_ignored_with_a_notice():
    restored, notices = config_from_query({"temperature": "-1", "alpha": "0.3", "method": "nope"})
    assert restored.alpha == 0.3 and restored.temperature == RunConfig().temperature
    assert len(notices) == 2 and any("temperature" in n for n in notices)


def test_yaml_file_loads(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("temperature: 2\nalpha: 0.4\nteachers: [cnn]\n")
    assert RunConfig.from_dict(load_config_file(path)).temperature == 2.0


def test_broken_yaml_is_one_clear_error(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("temperature: [1,\n")
    with pytest.raises(Exception, match="not valid YAML"):
        load_config_file(path)


def test_student_may_carry_a_width_but_not_an_unknown_name():
    assert RunConfig.from_dict({"student": "cnn:16"}).student == "cnn:16"
    assert "student" in errors_of({"student": "vgg:16"})
    assert "from 1 to" in errors_of({"student": "cnn:0"})["student"]
    assert "takes no width" in errors_of({"student": "resnet8:4"})["student"]
