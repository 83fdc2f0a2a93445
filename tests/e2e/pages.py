"""Helpers the browser tests share."""

DEMO_PASSWORD = "demo"  # load_defaults --demo


def login(page, base_url: str, username: str, password: str = DEMO_PASSWORD) -> None:
    """Through the real login form (django-axes needs the request the form passes)."""
    page.goto(f"{base_url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    submit(page, "input[type=submit]")
    assert page.url == f"{base_url}/admin/", f"login as {username} failed: {page.url}"


def submit(page, selector: str) -> None:
    """Click a submit button and wait for the page it leads to (a POST that redirects back to the same URL would
    otherwise let the next assertion read the old page)."""
    with page.expect_navigation():
        page.click(selector)
