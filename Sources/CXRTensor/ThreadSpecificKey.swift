import Foundation

/// A new pthread thread-specific key, for a value each thread sees on its own (no destructor).
///
/// Why not `precondition(pthread_key_create(&key, nil) == 0)`: release builds are compiled with `-Ounchecked`
/// (Package.swift), which drops a precondition's condition, call and all. The keys were then never created: both
/// users read key 0, which belongs to another library, so every parallel loop inside a VAE decode's buffer-pool scope
/// took itself for a nested loop and ran on one thread (the 512 px decode at half speed), and both wrote over the
/// owner's value. `fatalError` is kept in every build.
func makeThreadSpecificKey() -> pthread_key_t {
    var key = pthread_key_t()
    let status = pthread_key_create(&key, nil)
    if status != 0 { fatalError("pthread_key_create failed (\(status))") }
    return key
}
