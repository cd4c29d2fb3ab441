import json
import logging

from services.common.logging import configure_logging
from services.common.request_context import reset_request_id, set_request_id


def test_log_lines_are_json_and_carry_the_request_id(capsys):
    configure_logging("probe", "INFO")
    token = set_request_id("req-5")
    try:
        logging.getLogger("probe.test").info("hello", extra={"stage": "retrieve"})
    finally:
        reset_request_id(token)
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["message"] == "hello"
    assert line["request_id"] == "req-5"
    assert line["service"] == "probe"
    assert line["stage"] == "retrieve"
    assert line["level"] == "INFO"
