"""Config validation: one error per bad field, naming the field and its allowed range; round trips."""

import pytest

from workbench.config import FIELD_BY_NAME, ConfigErrors, RunConfig, config_from_query, load_config_file
from workbench.errors import WorkbenchError


def errors_of(values):
    with pytest.raises(ConfigErrors) as caught:
        RunConfig.from_dict(values)
    return {error.field: str(error) for error in caught.value.errors}


def test_defaults_are_valid():
    config = RunConfig.from_dict({})
    assert config.method == "kd" and config.teacher == "cnn"


@pytest.mark.parametrize(
    "field,value,phrase",
    [
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
    ],
)
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
    config = RunConfig.from_dict(
        {
            "temperature": 8,
            "alpha": 0.5,
            "teachers": "cnn,mlp",
            "method": "tfkd",
            "method_params": {"correct_prob": 0.8},
            "compile": True,
        }
    )
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


def test_binary_config_file_is_one_clear_error(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(WorkbenchError, match="not a text file") as caught:
        load_config_file(path)
    assert len(str(caught.value).splitlines()) == 1


@pytest.mark.parametrize("value", ["abc", [1, 2], 3])
def test_method_params_that_are_not_a_mapping_are_named(value):
    assert "not a mapping" in errors_of({"method_params": value})["method_params"]


@pytest.mark.parametrize("field", ["epochs", "lr", "seed"])
def test_a_boolean_is_not_a_number(field):
    assert "not a valid" in errors_of({field: True})[field]


def test_teacher_width_error_names_the_teachers_field():
    errors = errors_of({"teachers": "cnn:0"})
    assert list(errors) == ["teachers"] and "from 1 to" in errors["teachers"]


@pytest.mark.parametrize(
    "suffix,text,format_named",
    [
        (".json", '{"epochs": [1', "JSON"),
        (".yaml", "epochs: [1", "YAML"),
        (".txt", "epochs: [1", "YAML"),
        (".cfg", "epochs: [1", "YAML"),
    ],
)
def test_a_broken_config_file_names_the_format_tried(tmp_path, suffix, text, format_named):
    path = tmp_path / f"run{suffix}"
    path.write_text(text)
    with pytest.raises(WorkbenchError, match=f"not valid {format_named}"):
        load_config_file(path)


def test_json_in_a_txt_file_is_read_as_yaml(tmp_path):
    path = tmp_path / "run.txt"
    path.write_text('{"epochs": 3, "train_subset": 100}')
    assert load_config_file(path) == {"epochs": 3, "train_subset": 100}


def test_integer_limits_print_as_integers():
    assert "at most 2147483647" in FIELD_BY_NAME["seed"].allowed()
    assert "3000000000 is out of range" in errors_of({"seed": 3_000_000_000})["seed"]


def yaml_alias_bomb(levels: int) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, levels):
        refs = ",".join([f"*a{level - 1}"] * 9)
        lines.append(f"a{level}: &a{level} [{refs}]")
    return "\n".join(lines) + "\n"


def test_yaml_with_many_aliases_is_refused_before_it_is_built(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(yaml_alias_bomb(4))
    with pytest.raises(WorkbenchError, match="aliases"):
        load_config_file(path)


def test_yaml_with_a_few_aliases_still_loads(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("teachers: &t [cnn]\nname: x\nextra: *t\n")
    assert load_config_file(path)["extra"] == ["cnn"]


@pytest.mark.parametrize("suffix", [".txt", ".conf", ""])
def test_yaml_in_a_file_of_another_extension_loads(tmp_path, suffix):
    path = tmp_path / f"run{suffix}"
    path.write_text("epochs: 3\nteachers: [cnn]\n")
    assert load_config_file(path) == {"epochs": 3, "teachers": ["cnn"]}
