"""The app starts, and the login page answers."""


def test_login_page(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert "登录" in response.get_data(as_text=True)


def test_home_requires_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_a_given_key_is_kept_and_the_instance_key_is_made_once(tmp_path, monkeypatch):
    from tracker import create_app
    from tracker.config import instance_secret

    monkeypatch.delenv("TRACKER_SECRET_KEY", raising=False)
    given = create_app({"SECRET_KEY": "given", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}"})
    assert given.config["SECRET_KEY"] == "given"
    first = instance_secret(tmp_path / "instance")
    assert len(first) == 64 and instance_secret(tmp_path / "instance") == first
    assert oct((tmp_path / "instance" / "secret_key").stat().st_mode & 0o777) == "0o600"
