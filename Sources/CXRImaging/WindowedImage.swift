/// An image read from a file, with the DICOM VOI transformation (window or VOI LUT) that made it displayable.
public struct WindowedImage: Sendable {
    public var image: RasterImage
    /// Which VOI transformation was applied ("window 1 of 2", "VOI LUT 1 of 1 (GAMMA 0.6)", "min-max window");
    /// nil for PNG and JPEG files, which have none.
    public var window: String?
    /// How many windows and VOI LUTs the file has (the numbers `DICOMWindow.number` may take); 0 if not DICOM.
    public var windowCount: Int

    public init(image: RasterImage, window: String?, windowCount: Int) {
        self.image = image
        self.window = window
        self.windowCount = windowCount
    }
}
