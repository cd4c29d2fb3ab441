"""Bad input to the command line: one line that says what to do, exit code 2."""

import json
import socket

from typer.testing import CliRunner

from ninjarag.cli import app
from tests.conftest import free_port

runner = CliRunner()


def test_corpus_check_counts_a_good_file(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text('{"id": "a", "title": "A", "text": "one two three"}\n')
    result = runner.invoke(app, ["corpus", "check", str(path)])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"passages": 1, "words": 3, "mean_words": 3.0}


def test_corpus_check_names_the_malformed_line(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text('{"id": "a", "title": "A", "text": "x"}\n{"id": "b", "text": "y"}\n')
    result = runner.invoke(app, ["corpus", "check", str(path)])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: {path}:2: title: Field required; each line needs string fields id, title, text"


def test_ask_without_a_gateway_says_to_start_the_stack(monkeypatch):
    monkeypatch.setenv("NINJARAG_GATEWAY_PORT", str(free_port()))
    result = runner.invoke(app, ["ask", "Who wrote Hamlet?"])
    assert result.exit_code == 2
    assert "start the stack with `ninjarag up`" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_eval_without_a_gateway_says_to_start_the_stack(monkeypatch, tmp_path):
    monkeypatch.setenv("NINJARAG_GATEWAY_PORT", str(free_port()))
    monkeypatch.setenv("NINJARAG_API_KEY", "nr-test")
    questions = tmp_path / "q.jsonl"
    questions.write_text('{"question": "Who wrote Hamlet?", "answers": ["Shakespeare"]}\n')
    result = runner.invoke(app, ["eval", "--questions", str(questions), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "no gateway answers at" in result.stderr and "ninjarag up" in result.stderr
    result = runner.invoke(app, ["eval", "--questions", str(questions), "--systems", "bm25,gpt5"])
    assert result.exit_code == 2 and "no system gpt5; systems: closed-book" in result.stderr


def test_a_bad_setting_is_named_before_any_command_runs(monkeypatch):
    monkeypatch.setenv("NINJARAG_COMPARE_PACKING", "fast")
    result = runner.invoke(app, ["status"])
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: bad setting: NINJARAG_COMPARE_PACKING: Input should be 'quality' or 'latency'"


def test_ask_rejects_an_empty_question(monkeypatch):
    result = runner.invoke(app, ["ask", "   "])
    assert result.exit_code == 2
    assert "invalid question" in result.stderr and "must not be empty" in result.stderr


def test_up_refuses_a_port_in_use(monkeypatch, tmp_path):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        monkeypatch.setenv("NINJARAG_RUN_DIR", str(tmp_path / "run"))
        monkeypatch.setenv("NINJARAG_GUARD_PORT", str(port))
        result = runner.invoke(app, ["up"])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"error: port {port} (guard) is in use: stop what holds it, or set NINJARAG_GUARD_PORT to a free port"
    )


def test_status_and_down_when_nothing_runs(monkeypatch, tmp_path):
    monkeypatch.setenv("NINJARAG_RUN_DIR", str(tmp_path / "run"))
    assert runner.invoke(app, ["status"]).exit_code == 1
    result = runner.invoke(app, ["down"])
    assert result.exit_code == 0 and "nothing was running" in result.stdout


def test_index_build_names_the_malformed_corpus_line(tmp_path):
    corpus = tmp_path / "c.jsonl"
    corpus.write_text('{"id": "a", "title": "A", "text": "x"}\n{"id": "a", "title": "B", "text": "y"}\n')
    result = runner.invoke(app, ["index", "build", "--corpus", str(corpus), "--out", str(tmp_path / "idx")])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: {corpus}:2: duplicate id 'a'; ids must be unique"
    assert not (tmp_path / "idx").exists()


def test_eval_gateway_option_needs_name_equals_url(monkeypatch):
    monkeypatch.setenv("NINJARAG_API_KEY", "nr-test")
    result = runner.invoke(app, ["eval", "--gateway", "http://127.0.0.1:8000"])
    assert result.exit_code == 2 and "--gateway takes NAME=URL" in result.stderr


def test_finetune_data_without_a_retriever_says_to_start_the_stack(monkeypatch):
    monkeypatch.setenv("NINJARAG_RETRIEVER_PORT", str(free_port()))
    result = runner.invoke(app, ["finetune", "data"])
    assert result.exit_code == 2
    assert "no ready retriever" in result.stderr and "ninjarag up" in result.stderr


def test_finetune_train_without_data_says_which_command_makes_it(monkeypatch, tmp_path):
    recipe = tmp_path / "recipe.toml"
    from ninjarag.finetune.recipe import DEFAULT_RECIPE  # noqa: PLC0415

    recipe.write_text(DEFAULT_RECIPE.read_text().replace('name = "smollm2-135m-nq-v1"', 'name = "no-data-yet"'))
    result = runner.invoke(app, ["finetune", "train", "--recipe", str(recipe)])
    assert result.exit_code == 2 and "no training data in" in result.stderr
    assert "run `ninjarag finetune data` first" in result.stderr


def test_finetune_rejects_a_recipe_with_an_unknown_key(tmp_path):
    recipe = tmp_path / "recipe.toml"
    from ninjarag.finetune.recipe import DEFAULT_RECIPE  # noqa: PLC0415

    recipe.write_text(DEFAULT_RECIPE.read_text().replace("seed = 13", "seed = 13\nsead = 14"))
    result = runner.invoke(app, ["finetune", "train", "--recipe", str(recipe)])
    assert result.exit_code == 2 and "sead" in result.stderr
