{
 "format": "assembly-signature/1",
 "role": "returning_officer",
 "body_sha256": "b7b23de415a8e0a7520edd31f202babbcea43b0d972020747993fc2fd2e724cb",
 "fingerprint": "1469c664557fab881f7d8eb37e8c29d6e0e11290d7bf5a241159b5731d9713b4",
 "signature": "L0r2UjISD0Hp6iBiQal2Hq6m3R2YKq53AWf/YGJb29M2esEeK/LOatfwIQJmOFzKzuvqkcSgamvJqkQByfW0AA=="
}
