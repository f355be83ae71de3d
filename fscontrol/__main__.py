"""Entry point of the `fscontrol` command. gevent patches the standard library before anything
imports socket, so psycopg and greenswitch cooperate in one gevent hub."""

from gevent import monkey

monkey.patch_all()


def main(argv=None) -> int:
    from .cli import main as cli_main
    return cli_main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
