"""The settings merge: inherited settings follow the new base, the app's own stay."""

from __future__ import annotations

from distill.rebase.settings import changed_user, merge_env, merge_settings

OLD = {"User": "65532:65532", "WorkingDir": "/home/nonroot", "Entrypoint": ["/busybox/sh"],
       "Env": ["PATH=/old/bin", "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt", "GONE=1"]}
NEW = {"User": "65532:65532", "WorkingDir": "/srv", "Entrypoint": ["/bin/new"],
       "Env": ["PATH=/new/bin", "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt", "ADDED=2"]}


def test_inherited_settings_take_the_new_bases_values() -> None:
    app = {**OLD, "Cmd": ["--serve"], "ExposedPorts": {"8080/tcp": {}}}
    merged = merge_settings(app=app, old_base=OLD, new_base=NEW)
    assert merged["WorkingDir"] == "/srv"
    assert merged["Entrypoint"] == ["/bin/new"]
    assert merged["Cmd"] == ["--serve"]  # the app's own
    assert merged["ExposedPorts"] == {"8080/tcp": {}}


def test_settings_the_app_changed_stay() -> None:
    app = {**OLD, "WorkingDir": "/app", "Entrypoint": ["/app/hello"]}
    merged = merge_settings(app=app, old_base=OLD, new_base=NEW)
    assert (merged["WorkingDir"], merged["Entrypoint"]) == ("/app", ["/app/hello"])


def test_a_setting_the_new_base_drops_goes_when_it_was_inherited() -> None:
    old = {**OLD, "StopSignal": "SIGQUIT"}
    assert "StopSignal" not in merge_settings(app=old, old_base=old, new_base=NEW)
    kept = merge_settings(app={**old, "StopSignal": "SIGTERM"}, old_base=old, new_base=NEW)
    assert kept["StopSignal"] == "SIGTERM"


def test_env_follows_the_new_base_per_variable() -> None:
    app = ["SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt", "GONE=1", "TZ=UTC",
           "PATH=/app/bin"]  # the app set its own PATH
    merged = merge_env(app=app, old_base=OLD["Env"], new_base=NEW["Env"])
    assert merged == ["PATH=/app/bin", "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
                      "ADDED=2", "TZ=UTC"]


def test_env_inherited_unchanged_is_the_new_bases() -> None:
    merged = merge_env(app=[*OLD["Env"], "TZ=UTC"], old_base=OLD["Env"], new_base=NEW["Env"])
    assert merged == [*NEW["Env"], "TZ=UTC"]


def test_a_changed_user_is_named() -> None:
    assert changed_user(old_base=OLD, new_base=NEW) is None
    message = changed_user(old_base=OLD, new_base={"User": "0"})
    assert message is not None and "0" in message and "65532:65532" in message
    assert changed_user(old_base={}, new_base={"User": "0"}) is not None
