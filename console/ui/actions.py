"""What the keys do: each action turns into a protocol request to the daemon.

A mixin for the app, so the app module keeps to the link and the screens.
Requests run as workers, so a slow reply never stalls the meters, and they
are written to the socket in the order the keys were pressed. A refusal
(``bad_value``, ``unavailable``) is shown as a notification in the daemon's
words; a missing daemon is already on the banner, so it is not repeated.

Parameter changes are shown at once (the model marks them local) and sent
as ``set``; the daemon's echo confirms them. The protocol has no relative
``nudge``, so the new value is computed here from the parameter table.
"""

from __future__ import annotations

import functools
import time
from typing import TYPE_CHECKING, Any

from textual.app import App

from console.control.client import ConnectionLostError
from console.control.wire import ProtocolError
from console.ui.link import NotConnectedError
from console.ui.model import nudge_value
from console.ui.screens.answer import AnswerScreen
from console.ui.screens.help import HelpScreen
from console.ui.screens.marker import MarkerNoteScreen
from console.ui.screens.meters import MetersScreen
from dsp import params as P
from dsp.errors import MasterdeckError

if TYPE_CHECKING:
    from console.ui.link import Link
    from console.ui.model import ConsoleModel

LEARN_TIMEOUT_S = 30.0


class ConsoleActions(App[None]):
    """The ``action_*`` methods behind :data:`console.ui.keys.KEYMAP`."""

    model: ConsoleModel
    link: Link
    store_armed: bool = False

    def refresh_screens(self, what: str, changed: list[str] | None = None) -> None:
        """Tell the shown screens what changed (the app implements it)."""
        raise NotImplementedError

    # plumbing ---------------------------------------------------------------------------
    def send(self, command: str, /, **args: Any) -> None:
        """Send a request in the background; show a refusal as a notification."""
        self.run_worker(functools.partial(self._send, command, args), group="requests")

    async def _send(self, command: str, args: dict[str, Any]) -> dict[str, Any] | None:
        try:
            return await self.link.request(command, **args)
        except ProtocolError as exc:
            self.notify(exc.message, title=command, severity="warning")
            if command == "set":
                for param_id in args.get("values", {}):
                    self.model.forget_local(param_id)
                self.send("get", ids=list(args.get("values", {})))
        except (NotConnectedError, ConnectionLostError):
            pass  # the banner says so
        return None

    def set_param(self, param_id: str, value: float) -> None:
        """Show a new value at once and send it."""
        self.model.note_local(param_id, value, time.monotonic())
        self.refresh_screens("params", [param_id])
        self.refresh_screens("selection")
        self.send("set", values={param_id: value})

    # transport ----------------------------------------------------------------------------
    def action_toggle_play(self) -> None:
        """Play or stop."""
        self.send("action", name="toggle_play")

    def action_locate(self, seconds: float) -> None:
        """Jump to ``seconds``."""
        self.send("locate", seconds=max(float(seconds), 0.0))

    def action_seek(self, delta_s: float) -> None:
        """Jump ``delta_s`` seconds from the playhead."""
        position = float(self.model.meters.get("position_s") or 0.0)
        self.action_locate(position + delta_s)

    def action_toggle_loop(self) -> None:
        """Loop on or off; with no region yet, the whole song."""
        loop = self.model.loop
        turning_on = not loop.get("on")
        if turning_on and loop.get("end_s", 0.0) <= loop.get("start_s", 0.0):
            duration = (self.model.song or {}).get("duration_s") or 0.0
            self.send("loop", start_s=0.0, end_s=float(duration), on=True)
        else:
            self.send("loop", on=turning_on)

    def action_album_mode(self) -> None:
        """Album mode on or off (the daemon decodes every song first: a moment)."""
        self.send("album_mode", on=not self.model.state.get("album_mode", False))

    def action_join(self, loop: bool) -> None:
        """Hear (or loop around) the next join of the album."""
        self.send("album_join", loop=loop)

    def action_song(self, step: int) -> None:
        """The next (or previous) song of the album."""
        self.send("song_next" if step > 0 else "song_previous")

    def action_marker(self) -> None:
        """Mark the playhead's place in the current song, then ask for the marker's note."""
        if isinstance(self.screen, MarkerNoteScreen):
            return
        position = round(float(self.model.meters.get("position_s") or 0.0), 3)
        song = next((s.get("title", "") for s in self.model.songs() if s.get("current")), "")

        def keep(note: str | None) -> None:
            if note is None:
                self.notify("marker dropped")
                return
            self.send("marker_add", position_s=position, note=note)
            self.run_worker(self.link.refresh_session, group="requests")

        self.push_screen(MarkerNoteScreen(position, song), keep)

    def action_answer_note(self) -> None:
        """Answer the latest note a client wrote in the listening room."""
        note = self.model.room_note
        if isinstance(self.screen, AnswerScreen):
            return
        if note is None:
            self.notify("no note from the listening room yet", title="listening room")
            return

        def send(answer: str | None) -> None:
            if answer is None:
                return
            index = self.model.marker_index(note)
            if index is None:
                self.notify("that note is no longer among the song's markers",
                            severity="warning")
                return
            self.send("room_answer", song=note["song"], index=index, text=answer)
            self.run_worker(self.link.refresh_session, group="requests")

        self.push_screen(AnswerScreen(note), send)

    def action_undo(self) -> None:
        """Undo the last parameter move, snapshot recall or automation pass."""
        self.send("undo")

    def action_redo(self) -> None:
        """Redo what was undone."""
        self.send("redo")

    def action_loop_mark(self, which: str) -> None:
        """Set the loop's start or end at the playhead."""
        position = round(float(self.model.meters.get("position_s") or 0.0), 3)
        self.send("loop", **{f"{which}_s": position})

    # what is heard ------------------------------------------------------------------------
    def action_hear(self, name: str) -> None:
        """Hear ``master``, ``bypass`` or ``reference``."""
        self.send("source", name=name)

    def action_toggle_source(self, name: str) -> None:
        """Switch bypass or reference on, or back to the master."""
        self.send(name)

    def action_translate(self, check: str) -> None:
        """Hear the monitor through translation check ``check``, or turn it off if it is on."""
        on = self.model.state.get("translation", "off") != check
        self.send("translate", name=check if on else "off")

    def action_toggle_match(self) -> None:
        """Loudness matching of bypass and reference on or off."""
        self.send("match", on=not self.model.state.get("match", True))

    def action_stage_bypass(self, stage: str) -> None:
        """Bypass a stage, or bring it back (``""``: the selected parameter's stage)."""
        stage = stage or self.model.selected_param.stage
        param_id = f"{stage}.bypass"
        if param_id not in self.model.values:
            self.notify(f"the {stage} stage has no bypass",
                        severity="warning")
            return
        self.set_param(param_id, 0.0 if self.model.bypassed(stage) else 1.0)

    # snapshots ----------------------------------------------------------------------------
    def action_arm_store(self) -> None:
        """The next snapshot key stores instead of recalling."""
        self.store_armed = True
        self.notify("store: press 1-4 for A-D (esc cancels)")

    def action_snapshot(self, slot: str) -> None:
        """Recall snapshot ``slot``, or store it when armed."""
        if self.store_armed:
            self.store_armed = False
            self.send("snapshot_store", slot=slot)
        else:
            self.send("snapshot_recall", slot=slot)

    # parameters ---------------------------------------------------------------------------
    def _screen_takes(self, kind: str, step: int, coarse: bool = False) -> bool:
        take = getattr(self.screen, "take_arrows", None)
        return bool(take is not None and take(kind, step, coarse))

    def action_select(self, delta: int) -> None:
        """Select the previous or next parameter (unless the screen gives the keys a meaning)."""
        if self._screen_takes("select", delta):
            return
        self.model.select(delta)
        self.model.touched = None
        self.refresh_screens("selection")

    def action_select_stage(self, delta: int) -> None:
        """Select the first parameter of the previous or next stage."""
        self.model.select_stage(delta)
        self.model.touched = None
        self.refresh_screens("selection")

    def action_nudge(self, steps: int, coarse: bool = False) -> None:
        """Move the selected parameter by ``steps`` steps (ten times as far when coarse)."""
        if self._screen_takes("nudge", steps, coarse):
            return
        param = self.model.selected_param
        value = self.model.values[param.id]
        new = nudge_value(param, value, steps, coarse)
        if new != value:
            self.set_param(param.id, new)

    def action_reset_param(self) -> None:
        """Put the selected parameter back to its default."""
        param = self.model.selected_param
        self.set_param(param.id, param.default)

    # surfaces, automation -----------------------------------------------------------------
    def action_learn(self) -> None:
        """MIDI learn for the selected parameter: the next control moved is bound to it."""
        param = self.model.selected_param
        self.model.learn = (f"learning {param.id}: move a control on the surface "
                            f"(within {LEARN_TIMEOUT_S:.0f} s; esc cancels)")
        self.refresh_screens("surfaces")
        self.run_worker(functools.partial(self._learn, param), group="learn",
                        exclusive=True)

    async def _learn(self, param: P.Param) -> None:
        try:
            learned = await self.link.learn(param.id, LEARN_TIMEOUT_S)
        except ProtocolError as exc:
            self.model.learn = f"learn {param.id}: {exc.message}"
        except (MasterdeckError, OSError, TimeoutError) as exc:
            self.model.learn = f"learn {param.id}: {exc or 'no reply'}"
        else:
            control = learned.get("control", "?")
            if "number" in learned:
                control = f"{control} {learned['number']}"
            self.model.learn = f"learned: {control} → {param.id} (saved to your mapping)"
            self.notify(self.model.learn)
            await self.link.refresh_surfaces()
        self.refresh_screens("surfaces")

    def action_cancel(self) -> None:
        """Cancel a learn in progress or an armed store; close the help."""
        if isinstance(self.screen, HelpScreen):
            self.screen.dismiss()
        if isinstance(self.screen, MarkerNoteScreen | AnswerScreen):
            self.screen.dismiss(None)
            return
        self.store_armed = False
        if self.model.learn.startswith("learning"):
            self.model.learn = "learn cancelled"
            self.run_worker(self.link.cancel_learn,
                            group="requests")
            self.refresh_screens("surfaces")

    def action_refresh_surfaces(self) -> None:
        """Ask the daemon for the surfaces listing again."""
        self.run_worker(self.link.refresh_surfaces,
                        group="requests")

    def action_automation_mode(self, scope: str) -> None:
        """Step the parameter's lane (``lane``) or all lanes (``global``) to the next mode."""
        if scope == "lane":
            self.send("automation_mode", param=self.model.selected_param.id)
        else:
            self.send("automation_mode")

    def action_toggle_view(self) -> None:
        """On a narrow terminal, show the chain instead of the meters (or back)."""
        if isinstance(self.screen, MetersScreen):
            self.screen.toggle_view()

    def action_cycle_target(self) -> None:
        """Draw the next delivery target on the meters."""
        target = self.model.cycle_target()
        self.notify(f"target: {target.name}, {target.lufs:g} LUFS, "
                    f"{target.dbtp:g} dBTP")
        self.refresh_screens("meters")

    def action_help(self) -> None:
        """Show the keys (or close them)."""
        if isinstance(self.screen, HelpScreen):
            self.screen.dismiss()
        else:
            self.push_screen(HelpScreen())


