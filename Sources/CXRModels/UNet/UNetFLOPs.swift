/// Floating-point operations of one UNet evaluation, counted from the config (2 per multiply-add) for the
/// convolutions, linear layers and attention products (QK^T and PV). Norms, activations and additions are
/// left out (well under 1%). Used by `cxr-edit bench` to turn seconds into achieved GFLOP/s.
extension UNetConfig {
    public func flops(batch: Int, latentHeight h: Int, latentWidth w: Int, contextTokens: Int) -> Double {
        var total = 0.0
        func conv(_ cin: Int, _ cout: Int, _ k: Int, _ ho: Int, _ wo: Int) {
            total += 2 * Double(cin * cout * k * k) * Double(ho * wo)
        }
        func linear(_ inF: Int, _ outF: Int, rows: Int) { total += 2 * Double(inF * outF) * Double(rows) }
        func resnet(_ inC: Int, _ outC: Int, _ hh: Int, _ ww: Int) {
            conv(inC, outC, 3, hh, ww)
            conv(outC, outC, 3, hh, ww)
            if inC != outC { conv(inC, outC, 1, hh, ww) }
            linear(timeEmbedDim, outC, rows: 1)
        }
        func transformer(_ c: Int, _ hh: Int, _ ww: Int, layers: Int) {
            let t = hh * ww, l = contextTokens, cd = crossAttentionDim
            linear(c, c, rows: t)  // proj_in
            linear(c, c, rows: t)  // proj_out
            for _ in 0..<layers {
                linear(c, c, rows: t * 4)  // attn1 q, k, v, out
                total += 4 * Double(t) * Double(t) * Double(c)
                linear(c, c, rows: t * 2)  // attn2 q, out
                linear(cd, c, rows: l * 2)  // attn2 k, v
                total += 4 * Double(t) * Double(l) * Double(c)
                linear(c, 8 * c, rows: t)  // GEGLU projection
                linear(4 * c, c, rows: t)  // feed-forward out
            }
        }
        let ch = blockOutChannels, n = ch.count
        linear(ch[0], timeEmbedDim, rows: 1)
        linear(timeEmbedDim, timeEmbedDim, rows: 1)
        var hh = h, ww = w
        conv(inChannels, ch[0], 3, hh, ww)
        var sizes: [(Int, Int)] = []
        var inC = ch[0]
        for i in 0..<n {
            sizes.append((hh, ww))
            for j in 0..<layersPerBlock[i] {
                resnet(j == 0 ? inC : ch[i], ch[i], hh, ww)
                if downBlocks[i] == .crossAttn { transformer(ch[i], hh, ww, layers: transformerLayers[i]) }
            }
            if i < n - 1 {
                hh = (hh + 2 * downsamplePadding - 3) / 2 + 1
                ww = (ww + 2 * downsamplePadding - 3) / 2 + 1
                conv(ch[i], ch[i], 3, hh, ww)
            }
            inC = ch[i]
        }
        resnet(ch[n - 1], ch[n - 1], hh, ww)
        transformer(ch[n - 1], hh, ww, layers: transformerLayers[n - 1])
        resnet(ch[n - 1], ch[n - 1], hh, ww)
        let rev = Array(ch.reversed()), revLayers = Array(layersPerBlock.reversed())
        let revT = Array(transformerLayers.reversed())
        var prevOut = rev[0]
        for i in 0..<n {
            let outC = rev[i], skipIn = rev[min(i + 1, n - 1)], layers = revLayers[i] + 1
            for j in 0..<layers {
                let skip = j == layers - 1 ? skipIn : outC
                resnet((j == 0 ? prevOut : outC) + skip, outC, hh, ww)
                if upBlocks[i] == .crossAttn { transformer(outC, hh, ww, layers: revT[i]) }
            }
            if i < n - 1 {
                (hh, ww) = sizes[n - 2 - i]
                conv(outC, outC, 3, hh, ww)
            }
            prevOut = outC
        }
        conv(ch[0], outChannels, 3, hh, ww)
        return total * Double(batch)
    }
}
