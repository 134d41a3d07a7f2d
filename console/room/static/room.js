// masterdeck listening room: join with the link's token, hear the monitor, leave notes.
// The token is in the link's fragment (never sent in a request); it is taken off the
// address bar at once and posted only with the WebRTC offer.
"use strict";

const $ = (id) => document.getElementById(id);
const hash = location.hash.slice(1);
if (hash) {
  sessionStorage.setItem("room-token", hash);
  history.replaceState(null, "", location.pathname);
}
const token = hash || sessionStorage.getItem("room-token") || "";

let pc = null;
let channel = null;
let receiver = null;
let audioContext = null;
let analysers = null;
let serial = 0;
let openMark = null;
const notes = new Map();
const placing = new Map();

function clock(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  const s = Math.max(0, seconds);
  const minutes = Math.floor(s / 60);
  return `${minutes}:${(s - 60 * minutes).toFixed(1).padStart(4, "0")}`;
}

function figure(value, digits = 1) {
  return value === null || value === undefined || !isFinite(value) ? "–" : value.toFixed(digits);
}

// Chrome decodes Opus as mono unless the receiver's description says stereo.
function stereo(sdp) {
  return sdp.replace(/a=fmtp:(\d+) (.*)\r\n/g, (line, pt, params) => {
    if (!new RegExp(`a=rtpmap:${pt} opus/48000`, "i").test(sdp)) return line;
    return `a=fmtp:${pt} ${params};stereo=1;sprop-stereo=1;maxaveragebitrate=510000\r\n`;
  });
}

// Every candidate goes in the offer; a relay server that does not answer is given up on
// after GATHER_MS (the offer then holds what was found; with the policy relay, nothing).
const GATHER_MS = 8000;

function gathered(connection) {
  return new Promise((resolve) => {
    if (connection.iceGatheringState === "complete") return resolve();
    setTimeout(resolve, GATHER_MS);
    connection.addEventListener("icegatheringstatechange", () => {
      if (connection.iceGatheringState === "complete") resolve();
    });
  });
}

async function post(path, body) {
  const response = await fetch(path, {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ token, ...body }),
  });
  const reply = await response.json();
  if (!response.ok) throw new Error(reply.error || response.statusText);
  return reply;
}

async function join() {
  $("listen").disabled = true;
  $("link").textContent = "connecting…";
  let configuration;
  try {
    configuration = await post("ice", {});
  } catch (error) {
    closed(String(error.message || error));
    return;
  }
  pc = new RTCPeerConnection(configuration);
  pc.addTransceiver("audio", { direction: "recvonly" });
  channel = pc.createDataChannel("room");
  channel.onmessage = (event) => receive(JSON.parse(event.data));
  channel.onopen = () => { $("note").disabled = false; };
  channel.onclose = () => closed("The console hung up.");
  pc.ontrack = (event) => play(event);
  pc.onconnectionstatechange = () => {
    const state = pc.connectionState;
    $("link").textContent = state === "connected" ? "live" : state;
    $("link").classList.toggle("live", state === "connected");
    if (state === "failed") closed("The connection to the console was lost.");
  };
  const offer = await pc.createOffer();
  await pc.setLocalDescription({ type: "offer", sdp: stereo(offer.sdp) });
  await gathered(pc);
  if (configuration.iceTransportPolicy === "relay"
      && !/ typ relay/.test(pc.localDescription.sdp)) {
    closed("The relay server could not be used (it did not answer, or refused this link's "
      + "credentials): ask the engineer to check it.");
    return;
  }
  let reply;
  try {
    reply = await post("join", { sdp: pc.localDescription.sdp, type: "offer" });
  } catch (error) {
    closed(String(error.message || error));
    return;
  }
  $("who").textContent = `for ${reply.name}`;
  await pc.setRemoteDescription({ type: reply.type, sdp: reply.sdp });
  $("start-panel").classList.add("hidden");
}

function play(event) {
  receiver = event.receiver;
  if ("jitterBufferTarget" in receiver) receiver.jitterBufferTarget = 0;
  const stream = new MediaStream([event.track]);
  const element = new Audio();
  element.srcObject = stream;
  element.play().catch(() => {});
  audioContext = new AudioContext({ sampleRate: 48000 });
  const source = audioContext.createMediaStreamSource(stream);
  const split = audioContext.createChannelSplitter(2);
  const make = () => {
    const node = audioContext.createAnalyser();
    node.fftSize = 8192;
    node.smoothingTimeConstant = 0;
    return node;
  };
  analysers = { mono: make(), left: make(), right: make() };
  source.connect(analysers.mono);
  source.connect(split);
  split.connect(analysers.left, 0);
  split.connect(analysers.right, 1);
  requestAnimationFrame(drawMeter);
}

function rmsDb(node) {
  const data = new Float32Array(node.fftSize);
  node.getFloatTimeDomainData(data);
  let sum = 0;
  for (const v of data) sum += v * v;
  return 10 * Math.log10(sum / data.length + 1e-20);
}

function drawMeter() {
  if (!analysers) return;
  for (const [side, node] of [["l", analysers.left], ["r", analysers.right]]) {
    const db = rmsDb(node);
    $(`meter-${side}`).style.width = `${Math.max(0, Math.min(100, (db + 60) * 100 / 60))}%`;
  }
  requestAnimationFrame(drawMeter);
}

// The RTP timestamp being played now: the last one played out, moved on by the time
// since (the report is per packet, 20 ms; its time is on the wall clock).
function rtpNow() {
  const sources = receiver ? receiver.getSynchronizationSources() : [];
  if (!sources.length) return null;
  const { rtpTimestamp, timestamp } = sources[0];
  const since = performance.timeOrigin + performance.now() - timestamp;
  const ahead = since > 0 && since < 100 ? Math.round(48 * since) : 0;
  return (rtpTimestamp + ahead) % 4294967296;
}

function startMark() {
  if (openMark !== null || !channel || channel.readyState !== "open") return;
  const rtp = rtpNow();
  if (rtp === null) return;
  serial += 1;
  openMark = serial;
  $("mark").textContent = "(placing…)";
  channel.send(JSON.stringify({ type: "mark", mark: serial, rtp }));
}

function sendNote() {
  const text = $("note").value.trim();
  if (!text || openMark === null) return;
  channel.send(JSON.stringify({ type: "note", mark: openMark, text }));
  $("send").disabled = true;
}

function receive(message) {
  switch (message.type) {
    case "state": return showState(message);
    case "marked":
      if (placing.has(message.mark)) {
        placing.get(message.mark)(message);
        placing.delete(message.mark);
        return;
      }
      if (message.mark === openMark) {
        $("mark").textContent = `at ${message.clock}${message.title ? ` in ${message.title}` : ""}`;
        $("send").disabled = false;
      }
      return;
    case "noted": return noted(message);
    case "answer": return answered(message);
    case "refused":
      $("mark").textContent = message.reason;
      if (message.mark === openMark) $("send").disabled = false;
      return;
    case "closed": return closed(message.reason);
    default: return;
  }
}

function noted(message) {
  openMark = null;
  $("note").value = "";
  $("mark").textContent = "(start typing: the place you hear is kept)";
  const item = document.createElement("li");
  const at = document.createElement("span");
  at.className = "at";
  at.textContent = `${message.clock}${message.title ? ` · ${message.title}` : ""}`;
  const text = document.createElement("div");
  text.textContent = message.note;
  const answer = document.createElement("div");
  answer.className = "answer";
  item.append(at, text, answer);
  $("notes-list").append(item);
  notes.set(`${message.song}@${message.position_s}`, answer);
}

function answered(message) {
  let answer = notes.get(`${message.song}@${message.position_s}`);
  if (!answer) {
    noted({ ...message, note: message.note });
    answer = notes.get(`${message.song}@${message.position_s}`);
  }
  answer.textContent = `Engineer: ${message.answer}`;
}

function showState(state) {
  $("album").textContent = state.album || (state.album_mode ? "album" : "");
  $("song").textContent = state.song || "—";
  $("number").textContent = state.number ? `song ${state.number} of ${state.count} ·` : "";
  $("clock").textContent = clock(state.position_s);
  $("duration").textContent = state.duration_s ? `/ ${clock(state.duration_s)}` : "";
  $("playing").textContent = state.playing ? "▶ playing" : "■ stopped";
  const heard = state.heard || {};
  const source = $("source");
  source.textContent = heard.source || "master";
  source.className = `badge ${heard.source || "master"}`;
  for (const [id, text] of [["snapshot", heard.snapshot && `snapshot ${heard.snapshot}`],
    ["preview", heard.preview && `as on ${heard.preview}`],
    ["translation", heard.translation && `through ${heard.translation}`]]) {
    $(id).textContent = text || "";
    $(id).classList.toggle("hidden", !text);
  }
  for (const [key, value] of Object.entries(state.loudness || {})) {
    const element = $(key);
    if (element) element.textContent = figure(value);
  }
  const grants = state.grants || [];
  let any = false;
  for (const button of document.querySelectorAll("[data-switch]")) {
    const allowed = grants.includes(button.dataset.needs);
    button.classList.toggle("hidden", !allowed);
    any = any || allowed;
    const on = button.dataset.switch === heard.snapshot
      || (button.dataset.switch === "bypass" && heard.source === "unprocessed")
      || button.dataset.switch === heard.source;
    button.classList.toggle("on", on);
  }
  $("switches").classList.toggle("hidden", !any);
}

// The first reason given is the one shown: the console says why before it hangs up.
function closed(reason) {
  if (!$("closed").classList.contains("hidden")) return;
  $("closed-why").textContent = reason || "";
  $("closed").classList.remove("hidden");
  $("link").textContent = "closed";
  $("link").classList.remove("live");
  if (pc) pc.close();
  if (audioContext) audioContext.close();
  analysers = null;
}

// for tests and the benchmark: what the page hears, measured from the decoded stream
window.roomProbe = {
  ready: () => analysers !== null && rtpNow() !== null && channel?.readyState === "open",
  rtp: rtpNow,
  connection: () => (pc ? pc.connectionState : "new"),
  sources: () => (receiver ? receiver.getSynchronizationSources() : []),
  // onsets heard (wall-clock ms), for the delay benchmark: every 10 ms the analyser's
  // last 8192 samples are searched for a rise above `threshold` after `quiet_ms` of quiet
  watch(threshold = 0.1, quietMs = 100) {
    const node = analysers.mono;
    const data = new Float32Array(node.fftSize);
    const rate = audioContext.sampleRate;
    const found = [];
    let last = -Infinity;
    setInterval(() => {
      node.getFloatTimeDomainData(data);
      const now = performance.timeOrigin + performance.now();
      for (let i = 0; i < data.length; i += 1) {
        if (Math.abs(data[i]) < threshold) continue;
        const at = now - 1000 * (data.length - i) / rate;
        if (at - last > quietMs) found.push(at);
        last = Math.max(last, at);
      }
    }, 10);
    this.onsets = () => found.slice();
  },
  // where the room places an RTP timestamp (what a note begun then would be placed at)
  place(rtp) {
    serial += 1;
    const mark = serial;
    return new Promise((resolve) => {
      placing.set(mark, resolve);
      channel.send(JSON.stringify({ type: "mark", mark, rtp }));
    });
  },
  async stats() {
    const out = {};
    if (!pc) return out;
    const report = await pc.getStats();
    report.forEach((row) => {
      if (row.type === "inbound-rtp" && row.kind === "audio") {
        out.bytes = row.bytesReceived;
        out.packets = row.packetsReceived;
        out.lost = row.packetsLost;
        out.jitter_buffer_ms = row.jitterBufferEmittedCount
          ? 1000 * row.jitterBufferDelay / row.jitterBufferEmittedCount : null;
        const codec = report.get(row.codecId);
        if (codec) { out.codec = codec.mimeType; out.channels = codec.channels; out.fmtp = codec.sdpFmtpLine; }
      }
      // the way the audio comes: the candidate pair the transport selected
      if (row.type === "transport" && row.selectedCandidatePairId) {
        const pair = report.get(row.selectedCandidatePairId);
        const local = pair && report.get(pair.localCandidateId);
        const remote = pair && report.get(pair.remoteCandidateId);
        if (local && remote) {
          out.route = { local: local.candidateType, relay_protocol: local.relayProtocol || null,
            remote: remote.candidateType, bytes_received: pair.bytesReceived };
        }
      }
    });
    return out;
  },
  hear() {
    if (!analysers) return null;
    const node = analysers.mono;
    const spectrum = new Float32Array(node.frequencyBinCount);
    node.getFloatFrequencyData(spectrum);
    let peak = 1;
    for (let i = 1; i < spectrum.length - 1; i += 1) if (spectrum[i] > spectrum[peak]) peak = i;
    const [a, b, c] = [spectrum[peak - 1], spectrum[peak], spectrum[peak + 1]];
    const shift = 0.5 * (a - c) / (a - 2 * b + c || 1);
    return {
      frequency_hz: (peak + shift) * audioContext.sampleRate / node.fftSize,
      left_db: rmsDb(analysers.left), right_db: rmsDb(analysers.right),
      rtp: rtpNow(), time_ms: performance.timeOrigin + performance.now(),
      window_s: node.fftSize / audioContext.sampleRate,
    };
  },
};

$("listen").addEventListener("click", join);
$("note").addEventListener("input", startMark);
$("note").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); sendNote(); }
});
$("send").addEventListener("click", sendNote);
for (const button of document.querySelectorAll("[data-switch]")) {
  button.addEventListener("click", () => channel && channel.send(
    JSON.stringify({ type: "switch", name: button.dataset.switch })));
}
if (!token) closed("This page needs the link the engineer sent you.");
