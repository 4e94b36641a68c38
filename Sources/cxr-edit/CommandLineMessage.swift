import CXRFindings
import CXRImaging
import CXRRuns

/// The text the command line shows for an error. The libraries name no flags: an error whose remedy is a setting
/// carries its values as a typed `problem`, and it is phrased here with the flag that sets it; every other error
/// reads as it describes itself.
func commandLineMessage(for error: Error) -> String {
    switch error {
    case let e as FindingsError:
        if let problem = e.problem { return commandLineMessage(for: problem) }
    case let e as ProbeError:
        if let problem = e.problem { return commandLineMessage(for: problem) }
    case let e as WeakFitError:
        return "\(e) (`cxr-edit regions IN.png`); pass --force to edit anyway, or --global / --mask"
    case let e as ImageError:
        if let problem = e.problem {
            let text = commandLineMessage(for: problem)
            return e.file.isEmpty ? text : "\(e.file): \(text)"
        }
    default:
        break
    }
    return "\(error)"
}

private func commandLineMessage(for problem: FindingsError.Problem) -> String {
    switch problem {
    case .dilationOutOfRange(let pixels):
        return "--dilate must be between 0 and \(RegionFitter.maxDilation) pixels, got \(pixels)"
    case .noRegionNamed:
        return "no region named; give at least one --region"
    case .severalFindingsNamed(let text, let findings):
        return "'\(text)' names several findings (\(findings.joined(separator: ", "))); give one per --add/--remove"
    case .unknownFinding:
        return "\(problem) (see `cxr-edit explain --list`, or use --prompt for free text)"
    case .sideNotApplicable(let finding, let side, let sidedFindings):
        return "\(finding) has no side; drop '\(side)' (--side applies to: \(sidedFindings.joined(separator: ", ")))"
    case .addedTwice(let finding):
        return "\(finding) is added twice; give it once (with --side bilateral for both sides)"
    case .regionOutsideImage(let regions):
        return "the fitted region \(regions.joined(separator: "+")) lies outside the image; check it with "
            + "`cxr-edit regions`"
    case .areaGivenTwice(let first, let second):
        // --global only widens the area, --region and --mask each name it: say so when two of those collide.
        return "give \(flag(naming: first)) or \(flag(naming: second)), not both"
            + (first == .wholeImage ? "" : " (each names the edit area)")
    case .unknownSide(let word):
        return "--side must be left, right or bilateral, got '\(word)'"
    case .qualifierWithoutFinding:
        return "--side and --severity qualify an --add or --remove finding; give one"
    case .qualifierCountMismatch(let qualifier, let given, let findings, let action):
        return
            "\(given) --\(qualifier.rawValue) values for \(findings) --\(action.rawValue) findings; give one for all or "
            + "one per finding"
    case .automaticRegionWithoutFinding:
        return "--region auto uses the extents of --add/--remove findings; give one"
    case .dilationWithoutRegion(let source):
        return "--dilate grows a region; it applies to --add/--remove regions or --region, not to "
            + (source == .maskFile ? "--mask" : "whole-image edits")
    case .emptyMask:
        return "\(problem)"
    }
}

/// The flag that names an edit area of `source`.
private func flag(naming source: EditAreaSource) -> String {
    switch source {
    case .extents: return "--region auto"
    case .named: return "--region"
    case .maskFile: return "--mask"
    case .wholeImage: return "--global"
    }
}

private func commandLineMessage(for problem: ProbeError.Problem) -> String {
    switch problem {
    case .runDirectoryBusy(let path):
        return "\(path): another cxr-edit process is writing this run directory (use a different --out, or --shard "
            + "I/N with one directory per shard)"
    case .runSettingsDiffer(let path):
        return "\(path): this run directory was started with different settings (spec, model or classifiers); "
            + "use a new --out"
    case .invalidShard(let text):
        return "--shard must be I/N with 0 <= I < N <= \(Shard.maxCount) (shards count from 0, like "
            + "SLURM_ARRAY_TASK_ID), got '\(text)'"
    }
}

private func commandLineMessage(for problem: ImageError.Problem) -> String {
    switch problem {
    case .fileExists:
        return "file exists (use --overwrite to replace it)"
    case .tooManyPixels(let width, let height, let limit):
        return "image \(width)x\(height) exceeds the limit of \(limit) pixels (about 110 bytes of memory per pixel to "
            + "edit; --max-pixels raises it)"
    }
}
