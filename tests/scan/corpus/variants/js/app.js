const cookie = req.cookies.session;
document.cookie = "theme=dark";
res.cookie("session", token, { httpOnly: true });
