"""Typer's own texts in the interface's language: help sections, the usage line, the help
option, and usage errors (unknown option, missing or bad value).

Typer vendors Click with its English texts written in place; they are replaced here on the
command objects of this program only, and usage errors are shown by `show_usage_error`.
"""

from __future__ import annotations

import re
import sys
from typing import Any

import typer
import typer.core
from typer import _click

from bot.i18n import N_, _

# The texts typer.core looks up through gettext's `_`, for the catalog.
_TYPER_TEXTS = (
    N_("Options"),
    N_("Commands"),
    N_("Arguments"),
    N_("default: {default}"),
    N_("required"),
    N_("env var: {var}"),
    N_("(dynamic)"),
)


def run(app: typer.Typer, argv: list[str] | None, *, prog_name: str) -> int:
    """Runs the Typer app as its standalone mode would, and returns the exit code."""
    # typer.core reads its section titles ("Options", "Commands") through gettext's `_`.
    typer.core._ = _  # type: ignore[attr-defined]
    command = typer.main.get_command(app)
    _localize(command)
    try:
        result = command.main(args=argv, prog_name=prog_name, standalone_mode=False)
    except _click.exceptions.NoArgsIsHelpError as error:
        error.show()
        return error.exit_code
    except _click.exceptions.UsageError as error:
        show_usage_error(error)
        return error.exit_code
    except _click.exceptions.ClickException as error:  # not raised by our options today
        error.show()
        return error.exit_code
    except typer.Abort:
        typer.echo(_("Aborted!"), err=True)
        return 1
    return result if isinstance(result, int) else 0


def _localize(command: Any) -> None:
    if command.options_metavar:
        command.options_metavar = _("[OPTIONS]")
    if getattr(command, "subcommand_metavar", None):
        command.subcommand_metavar = _("COMMAND [ARGS]...")

    def format_usage(ctx: Any, formatter: Any) -> None:
        pieces = command.collect_usage_pieces(ctx)
        formatter.write_usage(ctx.command_path, " ".join(pieces), prefix=_("Usage: "))

    original_help_option = command.get_help_option

    def get_help_option(ctx: Any) -> Any:
        option = original_help_option(ctx)
        if option is not None:
            option.help = _("Show this message and exit.")
        return option

    command.format_usage = format_usage
    command.get_help_option = get_help_option
    for sub in getattr(command, "commands", {}).values():
        _localize(sub)


def show_usage_error(error: Any) -> None:
    lines = []
    if error.ctx is not None:
        lines.append(error.ctx.get_usage())
        lines.append(
            _("Try '{command} --help' for help.").format(command=error.ctx.command_path) + "\n"
        )
    lines.append(_("Error: {message}").format(message=_message(error)))
    typer.echo("\n".join(lines), err=True, file=sys.stderr)


def _parameter_name(error: Any) -> str:
    param = getattr(error, "param", None)
    if getattr(error, "param_hint", None):
        hint = error.param_hint
        return hint if isinstance(hint, str) else " / ".join(hint)
    if param is None:
        return ""
    return " / ".join(param.opts) if param.opts else param.name or ""


# Click's messages that reach people, as it words them, and as they are translated.
_KNOWN = [
    (r"^(?P<value>.+) is not a valid int\.$", N_("{value} is not a valid int.")),
    (r"^(?P<value>.+) is not a valid integer\.$", N_("{value} is not a valid integer.")),
    (r"^(?P<value>.+) is not a valid float\.$", N_("{value} is not a valid float.")),
    (
        r"^Option '(?P<name>.+)' requires an argument\.$",
        N_("Option '{name}' requires an argument."),
    ),
    (
        r"^Got unexpected extra argument\(s\) \((?P<args>.*)\)$",
        N_("Got unexpected extra argument(s) ({args})"),
    ),
    (r"^No such command (?P<name>.+)\.$", N_("No such command {name}.")),
    (r"^Missing command\.$", N_("Missing command.")),
]


def _message(error: Any) -> str:
    exceptions = _click.exceptions
    if isinstance(error, exceptions.NoSuchOption):
        text = _("No such option: {name}").format(name=error.option_name)
        if error.possibilities:
            text += " " + _("(Possible options: {options})").format(
                options=", ".join(sorted(error.possibilities))
            )
        return text
    if isinstance(error, exceptions.MissingParameter):
        kind = getattr(error, "param_type", None) or getattr(error.param, "param_type_name", "")
        template = _("Missing argument {name}.") if kind == "argument" else None
        return (template or _("Missing option {name}.")).format(name=repr(_parameter_name(error)))
    detail = _known(error.message)
    if isinstance(error, exceptions.BadParameter):
        return _("Invalid value for {name}: {detail}").format(
            name=repr(_parameter_name(error)), detail=detail
        )
    return detail


def _known(message: str) -> str:
    for pattern, template in _KNOWN:
        match = re.match(pattern, message)
        if match:
            return _(template).format(**match.groupdict())
    return message
