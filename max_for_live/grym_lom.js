// grym_lom.js: the grym device's only code that touches the Live Object Model, run by [js grym_lom.js].
//
// Written in ES5 (var, function) because Max's [js] engine predates newer JavaScript.
// In:  `bang` from [live.thisdevice] (the LOM is ready), `request <json>` from grym_node.js.
// Out: `lom_reply <json>` ({id, ok, result | error}) and `song <json>` ({tempo, time_signature,
//      key, live_version}) whenever the song's tempo, meter or scale changes.
// Ops: detail_clip, song, set_clip_name, create_audio_clip (Live 12.0.5+), write_notes (Live 11+).

autowatch = 1;
inlets = 1;
outlets = 1;

var observers = [];
var lastSong = "";
var MINOR_SCALES = /minor|dorian|phrygian|locrian|aeolian|dim/i;
var NOTE_NAMES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"];

function first(api, prop) {
    var value = api.get(prop);
    return value instanceof Array ? value[0] : value;
}

function text(api, prop) {
    var value = api.get(prop);
    return value instanceof Array ? value.join(" ") : String(value);
}

function liveVersion() {
    var app = new LiveAPI("live_app");
    return [Number(app.call("get_major_version")), Number(app.call("get_minor_version")),
            Number(app.call("get_bugfix_version"))];
}

function atLeast(version, wanted) {
    for (var i = 0; i < wanted.length; i++) {
        if (version[i] !== wanted[i]) return version[i] > wanted[i];
    }
    return true;
}

// The song's key as grym writes it ("A minor"), from Live 12's scale when Scale Mode is on; else null.
function songKey(song, version) {
    if (!atLeast(version, [12, 0, 0]) || Number(first(song, "scale_mode")) !== 1) return null;
    var root = Number(first(song, "root_note"));
    var name = text(song, "scale_name");
    return NOTE_NAMES[((root % 12) + 12) % 12] + (MINOR_SCALES.test(name) ? " minor" : " major");
}

function songContext() {
    var song = new LiveAPI("live_set");
    if (Number(song.id) === 0) throw new Error("the Live set is not ready yet");
    var version = liveVersion();
    return {
        tempo: Number(first(song, "tempo")),
        time_signature: first(song, "signature_numerator") + "/" + first(song, "signature_denominator"),
        key: songKey(song, version),
        live_version: version.join(".")
    };
}

// Sent only when it changed: each observer also reports once as it is set up.
function sendSong() {
    var json = JSON.stringify(songContext());
    if (json === lastSong) return;
    lastSong = json;
    outlet(0, "song", json);
}

// [live.thisdevice] bangs when the device is loaded and the LOM can be used.
function bang() {
    observers = [];
    lastSong = "";
    var props = ["tempo", "signature_numerator", "signature_denominator", "root_note", "scale_name", "scale_mode"];
    for (var i = 0; i < props.length; i++) {
        if (props[i].indexOf("scale") === 0 || props[i] === "root_note") {
            if (!atLeast(liveVersion(), [12, 0, 0])) continue;
        }
        var observer = new LiveAPI(onSongChange, "live_set");
        observer.property = props[i];
        observers.push(observer);
    }
    sendSong();
}

function onSongChange(args) {
    if (args && args[0] !== "id") sendSong();
}

function selectedTrack(kind) {
    var track = new LiveAPI("live_set view selected_track");
    if (Number(track.id) === 0) throw new Error("select a track first");
    var isMidi = Number(first(track, "has_midi_input")) === 1;
    if (kind === "midi" && !isMidi) throw new Error("select a MIDI track for the notes (" + text(track, "name") + " is an audio track)");
    if (kind === "audio" && isMidi) throw new Error("select an audio track for the clip (" + text(track, "name") + " is a MIDI track)");
    return track;
}

function firstEmptySlot(track) {
    var count = track.getcount("clip_slots");
    for (var i = 0; i < count; i++) {
        var slot = new LiveAPI(track.unquotedpath + " clip_slots " + i);
        if (Number(first(slot, "has_clip")) === 0) return {api: slot, index: i};
    }
    throw new Error("no empty clip slot on " + text(track, "name") + ": add a scene and try again");
}

var OPS = {
    detail_clip: function () {
        var clip = new LiveAPI("live_set view detail_clip");
        if (Number(clip.id) === 0) return null;
        var audio = Number(first(clip, "is_audio_clip")) === 1;
        return {name: text(clip, "name"), is_audio: audio, file_path: audio ? text(clip, "file_path") : null,
                length: Number(first(clip, "length"))};
    },
    song: songContext,
    set_clip_name: function (req) {
        var clip = new LiveAPI("live_set view detail_clip");
        if (Number(clip.id) === 0) throw new Error("the selected clip is gone");
        clip.set("name", req.name);
        return {name: req.name};
    },
    create_audio_clip: function (req) {
        var version = liveVersion();
        if (!atLeast(version, [12, 0, 5])) {
            return {placed: false, reason: "Live " + version.join(".") + " cannot place audio clips from a device (12.0.5 can)"};
        }
        var track = selectedTrack("audio");
        var slot = firstEmptySlot(track);
        slot.api.call("create_audio_clip", req.path);
        var clip = new LiveAPI(slot.api.unquotedpath + " clip");
        if (req.name) clip.set("name", req.name);
        return {placed: true, track_name: text(track, "name"), slot: slot.index};
    },
    write_notes: function (req) {
        if (!atLeast(liveVersion(), [11, 0, 0])) throw new Error("writing notes needs Live 11 or later");
        var track = selectedTrack("midi");
        var slot = firstEmptySlot(track);
        slot.api.call("create_clip", req.length_beats);
        var clip = new LiveAPI(slot.api.unquotedpath + " clip");
        var notes = [];
        for (var i = 0; i < req.notes.length; i++) {
            var n = req.notes[i];
            notes.push({pitch: n.pitch, start_time: n.start_time, duration: n.duration, velocity: n.velocity, mute: 0});
        }
        clip.call("add_new_notes", {notes: notes});
        if (req.name) clip.set("name", req.name);
        return {track_name: text(track, "name"), slot: slot.index, note_count: notes.length};
    }
};

function request(json) {
    var req;
    try {
        req = JSON.parse(json);
    } catch (e) {
        post("grym: unreadable request " + json + "\n");
        return;
    }
    var reply = {id: req.id, ok: true};
    try {
        if (!OPS.hasOwnProperty(req.op)) throw new Error("unknown Live operation " + req.op);
        reply.result = OPS[req.op](req);
    } catch (e) {
        reply = {id: req.id, ok: false, error: String(e.message || e)};
    }
    outlet(0, "lom_reply", JSON.stringify(reply));
}
