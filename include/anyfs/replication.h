// Replication streams (DESIGN.md §8; docs/FORMAT.md, "Replication streams"):
// what Pool::send writes and Pool::receive applies, as `zfs send | zfs receive`.
//
//   // full: everything dataset "home" held at its snapshot "mon"
//   src->send("home", "mon", {}, write_to_file);
//   dst->receive("backup/home", read_from_file, {});
//   // incremental: only what changed from @mon to @tue
//   src->send("home", "tue", {.from = "@mon"}, write_to_file);
//   dst->receive("backup/home", read_from_file, {});
//
// A stream checks itself (a checksum per record, a digest of the whole) and a
// receive is atomic: until the end record has arrived and checked out, nothing
// of it is committed, so a damaged, cut or interrupted stream (or a killed
// receiver) leaves the target as it was.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "anyfs/error.h"

namespace anyfs {

// Where send writes its bytes, in order; an error stops the send.
using ByteSink = std::function<Result<void>(std::string_view)>;
// Where receive reads them: up to out.size() bytes, 0 at the end.
using ByteSource = std::function<Result<std::size_t>(std::span<char>)>;

struct SendOptions {
  // The base of an incremental stream, in the same dataset: "@SNAP" (or
  // "SNAP") for a snapshot, "#BOOKMARK" for a bookmark — a bookmark keeps a
  // destroyed snapshot's place, so incrementals go on after it is gone. Unset:
  // a full stream.
  std::optional<std::string> from = std::nullopt;
  // -I: every snapshot from the base (or the first) to the one named, each
  // as its own stream of one package.
  bool intermediates = false;
  // -R: the dataset and every dataset below it, parents first, with their
  // local properties (received as such: `received` in property lists); each
  // needs the snapshot by that name. Without a base it sends every snapshot
  // up to it (a whole replica); with one, what -I or not says.
  bool recursive = false;
  // --history: every state between the base (or, for a full stream, the
  // oldest kept) and the snapshot, each as its own stream of one package, so
  // that the receiver can read each as the sender could — HAMMER's mirror.
  // A state is a transaction group that changed the dataset and that its
  // history still keeps (history=all or a window), or a snapshot between;
  // the receiver holds each state of history as the snapshot "tid-N", N the
  // sender's TID (read it as DATASET@tid-N), with the sender's commit time.
  // With history off only the snapshots between go (what -I sends).
  bool history = false;
  // A state of the dataset's history instead of a snapshot (`mirror`): the
  // state as of this committed TID, sent as the snapshot "tid-N" (N: the
  // end of its transaction group) with a guid made from the pool, the
  // dataset and N — so a receiver that has it can take an incremental from
  // it. from_tid is then the base (a state received before). The dataset
  // must keep history that reaches them (history=all or a window), unless a
  // snapshot is at that TID. The snapshot argument of send must be empty.
  std::optional<std::uint64_t> at_tid = std::nullopt;
  std::optional<std::uint64_t> from_tid = std::nullopt;
  // The stream says another follows it on the same sink (receive reads on):
  // mirror --follow to a pipe.
  bool more_follows = false;
  // Continues a resumable receive that stopped (`send -t`): the token its
  // target's receive_resume_token property shows. The stream then starts
  // where the receiver's kept bytes end (the snapshot and base come from the
  // token; send's dataset and snapshot arguments may be empty). The part the
  // receiver has is made again and skipped, not sent.
  std::optional<std::string> resume_token = std::nullopt;
  // Called as the stream grows, with the bytes written so far.
  std::function<void(std::uint64_t bytes)> progress = nullptr;
};

struct SendReport {
  bool incremental = false;
  std::uint64_t from_tid = 0, to_tid = 0;
  std::string to_guid;
  std::uint64_t bytes = 0;        // the whole stream (resumed: what was written)
  std::uint64_t records = 0;
  std::uint64_t objects = 0;      // files, directories, links... sent (changed ones, for an incremental)
  std::uint64_t chunks = 0;       // chunks sent (each once), as stored
  std::uint64_t chunk_bytes = 0;  // their stored bytes
  std::uint64_t streams = 0;      // in the package (-I, -R): each applied on its own
};

struct ReceiveOptions {
  // An incremental into a target changed since its base snapshot rolls the
  // target back to that snapshot first (destroying newer snapshots of it),
  // in the same transaction as the receive: without it such a receive is
  // refused. `receive -F`.
  bool force = false;
  // Keep what arrives (`receive -s`): the stream is kept in the pool as it
  // comes, and applied all at once when its end has arrived and checked out.
  // A stream that stops early (cut, killed, damaged) leaves what arrived
  // kept and the target's receive_resume_token property set; `send -t` with
  // that token sends the rest, which receive then takes (resumable or not),
  // and Pool::abort_receive discards it.
  bool resumable = false;
  // Called as the stream is read, with the bytes read so far.
  std::function<void(std::uint64_t bytes)> progress = nullptr;
};

struct ReceiveReport {
  std::string dataset;
  std::string snapshot;           // the snapshot it made, named as the sender's
  std::string guid;               // which keeps the sender's guid
  bool incremental = false;
  bool rolled_back = false;       // force rolled the target back to the base first
  std::uint64_t tid = 0;          // the snapshot's TID here
  std::uint64_t bytes = 0;
  std::uint64_t objects = 0;
  std::uint64_t chunks = 0;       // chunk records read
  std::uint64_t chunks_stored = 0;  // of them, chunks this pool did not hold yet
  // A package (send -I, -R) is several streams, each applied on its own:
  // how many, and the snapshots made (DATASET@SNAP, in order). The fields
  // above describe the last one (counts: all of them).
  std::uint64_t streams = 0;
  std::vector<std::string> received;
};

}  // namespace anyfs
