import XCTest
final class CXRImagingTestsPlaceholder: XCTestCase { func testNothing() {} }
