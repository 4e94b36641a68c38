/// Two values written as one JSON object, the keys of both side by side: a plan's shared settings beside what its
/// fingerprint or a job's id adds to them, as the flat objects that earlier versions hashed.
struct MergedObject<First: Encodable, Second: Encodable>: Encodable {
    var first: First
    var second: Second

    init(_ first: First, _ second: Second) {
        self.first = first; self.second = second
    }

    /// Both write into the encoder's one keyed container (JSONEncoder hands the same object to every request).
    func encode(to encoder: Encoder) throws {
        try first.encode(to: encoder)
        try second.encode(to: encoder)
    }
}
