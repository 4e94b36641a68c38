import XCTest
final class CXRTokenizerTestsPlaceholder: XCTestCase { func testNothing() {} }
