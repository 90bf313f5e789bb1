from carebridge.cli import app

app()
