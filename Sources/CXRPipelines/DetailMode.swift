/// How an edit's output treats what the model cannot reproduce of the input.
///
/// A pass through the model changes the image even where the prompt asks for nothing: the VAE drops fine structure,
/// and a repainted region comes back as the model's own idea of a chest. The null-edit method (docs/evaluation in
/// ../shared) calls everything a null edit changes an artefact; `difference` builds the output from that rule.
public enum DetailMode: String, Sendable, CaseIterable {
    /// The input plus the edit's difference from its matched null edit (same image, seed, strength, region and
    /// sampler; the prompt without the finding): `NullDifference`. What the null edit changes cancels, so the
    /// patient's detail, wires and markers stay and the null edit is the input itself. Needs the null prompts.
    case difference
    /// The raw output plus the input's fine detail where the edit left the content alone (`DetailTransfer`).
    case transfer = "on"
    /// The raw pipeline output, exactly diffusers' (parity tests and the same-seed claim use it).
    case off
}
