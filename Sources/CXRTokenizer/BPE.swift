import Foundation

/// Byte-pair encoding of one pre-tokenised piece, as `tokenizers`' BPE model does it with
/// `end_of_word_suffix = "</w>"`: the piece's bytes become alphabet symbols (the last one carrying `</w>`),
/// then the adjacent pair with the lowest merge rank (leftmost on ties) is merged until none is left.
/// Results are cached per piece, since prompts repeat the same words. Merging uses a priority queue ordered by
/// (rank, position), so a hostile 100k-character "word" costs O(n log n), not O(n^2).
final class BPEModel: @unchecked Sendable {
    /// (left id << 32 | right id) -> (rank, merged id).
    private let merges: [UInt64: (rank: Int32, id: Int32)]
    /// Vocabulary id of each byte's symbol, without and with `</w>` (nil: not in the vocabulary).
    private let byteIDs: [Int32?]
    private let byteEndIDs: [Int32?]
    private let unkID: Int32?

    private let lock = NSLock()
    private var cache = [[Unicode.Scalar]: [Int32]]()
    private static let cacheLimit = 20_000

    /// - Throws: `TokenizerError.invalidFile(path: source, ...)` if a merge names a token missing from the vocabulary.
    init(vocab: [String: Int], merges pairs: [(String, String)], unkID: Int?, source: String) throws {
        var table = [UInt64: (rank: Int32, id: Int32)]()
        table.reserveCapacity(pairs.count)
        for (rank, pair) in pairs.enumerated() {
            guard let a = vocab[pair.0], let b = vocab[pair.1] else {
                throw TokenizerError.invalidFile(
                    path: source,
                    reason: "merge \(rank + 1) '\(pair.0) \(pair.1)' uses a token missing from the vocabulary")
            }
            guard let m = vocab[pair.0 + pair.1] else {
                throw TokenizerError.invalidFile(
                    path: source,
                    reason: "merge \(rank + 1) result '\(pair.0 + pair.1)' is missing from the vocabulary")
            }
            guard a >= 0, b >= 0, m >= 0, a <= Int(Int32.max), b <= Int(Int32.max), m <= Int(Int32.max) else {
                throw TokenizerError.invalidFile(path: source, reason: "token id out of range in merge \(rank + 1)")
            }
            let key = UInt64(a) << 32 | UInt64(b)
            if table[key] == nil { table[key] = (Int32(rank), Int32(m)) }
        }
        self.merges = table
        var plain = [Int32?](repeating: nil, count: 256)
        var end = [Int32?](repeating: nil, count: 256)
        for b in 0..<256 {
            let ch = String(Character(ByteLevel.byteToScalar[b]))
            plain[b] = vocab[ch].flatMap { Int32(exactly: $0) }
            end[b] = vocab[ch + "</w>"].flatMap { Int32(exactly: $0) }
        }
        self.byteIDs = plain
        self.byteEndIDs = end
        self.unkID = unkID.flatMap { Int32(exactly: $0) }
    }

    /// Token ids of one piece (appended to `out`).
    func encode(_ piece: ArraySlice<Unicode.Scalar>, into out: inout [Int]) {
        let key = Array(piece)  // own copy: a slice would keep the whole prompt alive in the cache
        lock.lock()
        let hit = cache[key]
        lock.unlock()
        if let hit {
            for id in hit { out.append(Int(id)) }
            return
        }
        let ids = merge(piece)
        lock.lock()
        if cache.count >= Self.cacheLimit { cache.removeAll(keepingCapacity: true) }
        cache[key] = ids
        lock.unlock()
        for id in ids { out.append(Int(id)) }
    }

    private func merge(_ piece: ArraySlice<Unicode.Scalar>) -> [Int32] {
        var bytes = [UInt8]()
        for s in piece { UTF8.encode(s) { bytes.append($0) } }
        if bytes.isEmpty { return [] }
        // Symbols; -1 marks an unknown symbol (never merged; becomes unk or is dropped).
        var symbols = [Int32]()
        symbols.reserveCapacity(bytes.count)
        for (k, b) in bytes.enumerated() {
            let id = k == bytes.count - 1 ? byteEndIDs[Int(b)] : byteIDs[Int(b)]
            symbols.append(id ?? -1)
        }
        symbols = mergeAll(symbols)
        if symbols.contains(where: { $0 < 0 }) {
            return symbols.compactMap { $0 >= 0 ? $0 : unkID }
        }
        return symbols
    }

    /// Applies merges lowest rank first, leftmost first among equal ranks (stale queue entries are skipped).
    private func mergeAll(_ initial: [Int32]) -> [Int32] {
        let n = initial.count
        if n < 2 { return initial }
        var ids = initial
        var next = Array(1...n)  // n = none
        var prev = Array(-1..<(n - 1))  // -1 = none
        var alive = [Bool](repeating: true, count: n)
        var queue = MergeQueue()
        func push(_ left: Int) {
            let right = next[left]
            guard right < n, ids[left] >= 0, ids[right] >= 0,
                let m = merges[UInt64(UInt32(ids[left])) << 32 | UInt64(UInt32(ids[right]))]
            else { return }
            queue.push(MergeQueue.Entry(rank: m.rank, position: Int32(left), id: m.id))
        }
        for k in 0..<(n - 1) { push(k) }
        while let top = queue.pop() {
            let left = Int(top.position)
            guard alive[left] else { continue }
            let right = next[left]
            guard right < n, ids[left] >= 0, ids[right] >= 0,
                let m = merges[UInt64(UInt32(ids[left])) << 32 | UInt64(UInt32(ids[right]))],
                m.rank == top.rank, m.id == top.id
            else { continue }
            ids[left] = m.id
            alive[right] = false
            next[left] = next[right]
            if next[right] < n { prev[next[right]] = left }
            if prev[left] >= 0 { push(prev[left]) }
            push(left)
        }
        var out = [Int32]()
        var k = 0
        while k < n { out.append(ids[k]); k = next[k] }
        return out
    }
}

/// Binary min-heap of candidate merges ordered by (rank, position).
struct MergeQueue {
    struct Entry {
        var rank: Int32
        var position: Int32
        var id: Int32
        @inline(__always) func precedes(_ other: Entry) -> Bool {
            rank != other.rank ? rank < other.rank : position < other.position
        }
    }
    private var heap = [Entry]()

    mutating func push(_ e: Entry) {
        heap.append(e)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            if heap[child].precedes(heap[parent]) {
                heap.swapAt(child, parent)
                child = parent
            } else {
                break
            }
        }
    }

    mutating func pop() -> Entry? {
        guard let first = heap.first else { return nil }
        let last = heap.removeLast()
        if heap.isEmpty { return first }
        heap[0] = last
        var parent = 0
        while true {
            let l = 2 * parent + 1, r = l + 1
            var best = parent
            if l < heap.count && heap[l].precedes(heap[best]) { best = l }
            if r < heap.count && heap[r].precedes(heap[best]) { best = r }
            if best == parent { break }
            heap.swapAt(parent, best)
            parent = best
        }
        return first
    }
}
